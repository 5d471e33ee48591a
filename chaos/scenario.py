"""The scenario model and its complete validation (design §8).

A scenario file is YAML: ``name``, ``description``, optional ``time_scale``, ``gateway`` (API
config overrides), ``client`` (client option overrides), ``steps`` and ``expect``. :func:`load`
turns one file into a :class:`Scenario` of frozen step objects, or raises
:class:`~chaos.errors.ScenarioError` whose one-line message names the file, the step number
(``4`` at top level, ``4.2`` for the second step inside a ``repeat`` at step 4), the key and the
value. Nothing here performs I/O beyond reading the file; the ``gateway`` block is checked against
the emulator's own config validation (:func:`check_gateway`), so a file that loads will run.

Durations are kept in configured seconds (unscaled); the runner applies the time scale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from chaos.errors import ScenarioError
from chaos.gates import Gate, parse_expect
from emulator.timing import format_duration, parse_duration

__all__ = [
    "CLIENT_OPTIONS",
    "STATUSES",
    "STEP_KINDS",
    "TOXIC_ATTRIBUTES",
    "Backend",
    "ClearFaults",
    "ClearToxics",
    "Close",
    "CloseConnections",
    "Connect",
    "Cut",
    "ExpectStatus",
    "Fault",
    "Idle",
    "Query",
    "QueryExpect",
    "Reconnect",
    "Repeat",
    "Restore",
    "Scenario",
    "Step",
    "Toxic",
    "Wait",
    "check_gateway",
    "iter_steps",
    "load",
    "load_all",
]

#: Client states an ``expect_status`` step may name (design §7).
STATUSES: tuple[str, ...] = ("connected", "connecting", "reconnecting", "disconnected", "failed")
#: Transports a query may be expected to end on; ``error`` expects a clear exception.
TRANSPORTS: tuple[str, ...] = ("websocket", "rest", "error")
#: Proxy targets of ``cut``, ``restore``, ``toxic`` and ``clear_toxics``.
TARGETS: tuple[str, ...] = ("websocket", "rest", "all")
#: Toxic types and their attributes, all integers in Toxiproxy wire units (spec §2.4).
TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "latency": ("latency", "jitter"),  # ms
    "bandwidth": ("rate",),  # KB/s, KB = 1000 bytes
    "slow_close": ("delay",),  # ms
    "timeout": ("timeout",),  # ms; 0 = never close, drop everything
    "reset_peer": ("timeout",),  # ms
    "slicer": ("average_size", "size_variation", "delay"),  # bytes, bytes, µs
    "limit_data": ("bytes",),  # bytes
    "noop": (),
}
#: Gateway fault types (design §5) and their parameters: name -> (kind, required).
FAULT_PARAMS: dict[str, dict[str, tuple[str, bool]]] = {
    "drop_replies": {"route": ("str", True)},
    "delay_replies": {"route": ("str", True), "delay": ("duration", True)},
    "stall_integrations": {"route": ("str", False), "delay": ("duration", True)},
    "silent_disconnect": {},
    "reject_connections": {"status": ("status", True)},
    "gone": {"connectionId": ("str", False)},
}
#: HTTP statuses a ``reject_connections`` fault may answer the handshake with.
REJECT_STATUSES: tuple[int, ...] = (429, 500, 503)
#: Client option overrides a scenario may set (design §7): name -> kind.
CLIENT_OPTIONS: dict[str, str] = {
    "heartbeat_interval": "duration_or_null",
    "pong_timeout": "duration_or_null",
    "max_reconnect_attempts": "count",
    "backoff_base": "duration",
    "backoff_max": "duration",
    "query_timeout": "positive_duration",
    "fallback_after": "duration",
    "open_timeout": "positive_duration",
}
#: Default ``within`` of ``expect_status``, in configured seconds.
DEFAULT_STATUS_WITHIN = 5.0
#: Query text when a step gives none.
DEFAULT_QUERY_TEXT = "EC2 spend last month"

#: Close codes a server may send (RFC 6455 §7.4.1): 1004-1006 and 1015 never go on the wire,
#: 1016-2999 are reserved for the protocol, 3000-4999 belong to applications.
_SENDABLE_CODES = frozenset({*range(1000, 1004), *range(1007, 1015), *range(3000, 5000)})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_TOP_KEYS = ("name", "description", "time_scale", "gateway", "client", "steps", "expect")


# --------------------------------------------------------------------------------------- steps
@dataclass(frozen=True)
class Step:
    """One step of a scenario.

    Attributes:
        label: its number as users see it: ``"4"`` at top level, ``"4.2"`` inside a repeat.
    """

    kind: ClassVar[str] = ""
    label: str

    def describe(self) -> str:
        """A short human description, e.g. ``cut websocket``."""
        return self.kind


@dataclass(frozen=True)
class Connect(Step):
    """Open the client's connection."""

    kind: ClassVar[str] = "connect"


@dataclass(frozen=True)
class Close(Step):
    """Close the client cleanly."""

    kind: ClassVar[str] = "close"


@dataclass(frozen=True)
class Reconnect(Step):
    """The manual "Reconnect Now"."""

    kind: ClassVar[str] = "reconnect"


@dataclass(frozen=True)
class QueryExpect:
    """What a query step expects.

    Attributes:
        transport: ``websocket``, ``rest`` or ``error``; None = any answer.
        within: configured seconds from the step's start (scaled and floored by the runner);
            None = no bound beyond the lost-query deadline.
        reconnects: exact number of reconnects completed during the step; None = not checked.
        max_reconnects: upper bound on the same; None = not checked.
    """

    transport: str | None = None
    within: float | None = None
    reconnects: int | None = None
    max_reconnects: int | None = None


@dataclass(frozen=True)
class Query(Step):
    """Send one query and check its outcome."""

    kind: ClassVar[str] = "query"
    text: str = DEFAULT_QUERY_TEXT
    expect: QueryExpect = field(default_factory=QueryExpect)

    def describe(self) -> str:
        return f"query (expect {self.expect.transport})" if self.expect.transport else "query"


@dataclass(frozen=True)
class Idle(Step):
    """No client-originated traffic except the heartbeat, for ``seconds`` (configured)."""

    kind: ClassVar[str] = "idle"
    seconds: float = 0.0

    def describe(self) -> str:
        return f"idle {_fmt(self.seconds)}"


@dataclass(frozen=True)
class Wait(Step):
    """Time passes: ``seconds`` (configured)."""

    kind: ClassVar[str] = "wait"
    seconds: float = 0.0

    def describe(self) -> str:
        return f"wait {_fmt(self.seconds)}"


@dataclass(frozen=True)
class Cut(Step):
    """Disable the Toxiproxy proxies of ``target``."""

    kind: ClassVar[str] = "cut"
    target: str = "all"

    def describe(self) -> str:
        return f"cut {self.target}"


@dataclass(frozen=True)
class Restore(Step):
    """Enable the Toxiproxy proxies of ``target``."""

    kind: ClassVar[str] = "restore"
    target: str = "all"

    def describe(self) -> str:
        return f"restore {self.target}"


@dataclass(frozen=True)
class Toxic(Step):
    """Add a toxic. Attributes are Toxiproxy wire units and are never scaled."""

    kind: ClassVar[str] = "toxic"
    target: str = "websocket"
    type: str = "noop"
    name: str | None = None
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: Mapping[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        return f"toxic {self.type} on {self.target} {self.stream}"


@dataclass(frozen=True)
class ClearToxics(Step):
    """Remove every toxic of ``target``."""

    kind: ClassVar[str] = "clear_toxics"
    target: str = "all"

    def describe(self) -> str:
        return f"clear_toxics {self.target}"


@dataclass(frozen=True)
class Fault(Step):
    """Add a gateway fault through the control API.

    Attributes:
        type: the fault's wire name (design §5).
        params: its parameters, as written (the runner scales ``delay``).
        for_: how long it lasts, as written (the runner scales it); None = until ``clear_faults``.
    """

    kind: ClassVar[str] = "fault"
    type: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    for_: str | float | None = None

    def describe(self) -> str:
        return f"fault {self.type}"

    def body(self) -> dict[str, Any]:
        """The control API's request body."""
        body: dict[str, Any] = {"type": self.type, **self.params}
        if self.for_ is not None:
            body["for"] = self.for_
        return body


@dataclass(frozen=True)
class ClearFaults(Step):
    """Remove every gateway fault."""

    kind: ClassVar[str] = "clear_faults"


@dataclass(frozen=True)
class Backend(Step):
    """A back-end action through @connections: ``delete_connection`` or ``post``."""

    kind: ClassVar[str] = "backend"
    action: str = "delete_connection"
    data: Any = None
    connection_id: str | None = None

    def describe(self) -> str:
        return f"backend {self.action}"

    def body(self) -> dict[str, Any]:
        """The control API's request body."""
        body: dict[str, Any] = {}
        if self.data is not None:
            body["data"] = self.data
        if self.connection_id is not None:
            body["connectionId"] = self.connection_id
        return body


@dataclass(frozen=True)
class CloseConnections(Step):
    """The gateway closes every connection: with ``code``/``reason``, or ``abrupt`` (no frame)."""

    kind: ClassVar[str] = "close_connections"
    code: int = 1001
    reason: str = "Going away"
    abrupt: bool = False

    def describe(self) -> str:
        return "close_connections abrupt" if self.abrupt else f"close_connections {self.code}"

    def body(self) -> dict[str, Any]:
        """The control API's request body."""
        return {"abrupt": True} if self.abrupt else {"code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class ExpectStatus(Step):
    """The client's status reaches ``status`` within ``within`` configured seconds."""

    kind: ClassVar[str] = "expect_status"
    status: str = "connected"
    within: float = DEFAULT_STATUS_WITHIN

    def describe(self) -> str:
        return f"expect_status {self.status}"


@dataclass(frozen=True)
class Repeat(Step):
    """Run ``steps`` ``times`` times (flapping)."""

    kind: ClassVar[str] = "repeat"
    times: int = 1
    steps: tuple[Step, ...] = ()

    def describe(self) -> str:
        return f"repeat {self.times}x"


# ------------------------------------------------------------------------------------ scenario
@dataclass(frozen=True)
class Scenario:
    """One validated scenario file.

    Attributes:
        name: unique name (lowercase, digits, ``-_.``).
        description: one line for ``wschaos scenarios`` and the reports.
        path: the file it came from, as given.
        time_scale: the file's own time scale; None = the run's.
        gateway: API config overrides, as written (checked by :func:`check_gateway`).
        client: client option overrides, durations already in configured seconds.
        steps: the steps, in order.
        expect: scenario-level expectations on its figures, as gates.
    """

    name: str
    description: str
    path: str
    steps: tuple[Step, ...]
    time_scale: float | None = None
    gateway: Mapping[str, Any] = field(default_factory=dict)
    client: Mapping[str, Any] = field(default_factory=dict)
    expect: tuple[Gate, ...] = ()


def iter_steps(steps: Sequence[Step]) -> Iterator[Step]:
    """Every step, depth first, ``repeat`` blocks included once (not unrolled)."""
    for step in steps:
        yield step
        if isinstance(step, Repeat):
            yield from iter_steps(step.steps)


# ---------------------------------------------------------------------------------- validation
class _Where:
    """Builds error messages: ``file: step 4.2 (toxic): attributes.rate: 'x': problem``."""

    def __init__(self, path: str, label: str | None = None, kind: str | None = None) -> None:
        self.path = path
        self.label = label
        self.kind = kind

    def error(self, key: str, value: object, problem: str) -> ScenarioError:
        where = self.path
        if self.label is not None:
            where += f": step {self.label}" + (f" ({self.kind})" if self.kind else "")
        return ScenarioError(f"{where}: {key}: {value!r}: {problem}")


def load(path: str | Path) -> Scenario:
    """Load and validate one scenario file.

    Raises:
        ScenarioError: the file is missing, is not YAML, or does not validate; the message names
            the file, the step number and the key.
    """
    display = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{display}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{display}: cannot read: {exc}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{display}: {line}not valid YAML: {problem}") from exc
    return parse(document, display)


def load_all(paths: Sequence[str | Path]) -> list[Scenario]:
    """Load every scenario file of ``paths`` (a directory means its ``*.yaml``/``*.yml``, sorted).

    Raises:
        ScenarioError: any file fails to load (the first one), a directory holds no scenario,
            or two scenarios share a name.
    """
    scenarios: list[Scenario] = []
    for path in paths:
        entry = Path(path)
        if entry.is_dir():
            files = sorted([*entry.glob("*.yaml"), *entry.glob("*.yml")])
            if not files:
                raise ScenarioError(f"{path}: no scenario files (*.yaml) in this directory")
            scenarios.extend(load(file) for file in files)
        else:
            scenarios.append(load(path))
    seen: dict[str, str] = {}
    for scenario in scenarios:
        if scenario.name in seen:
            raise ScenarioError(
                f"{scenario.path}: name: {scenario.name!r}: already used by {seen[scenario.name]}"
            )
        seen[scenario.name] = scenario.path
    return scenarios


def check_gateway(scenario: Scenario) -> Any:
    """Check the scenario's ``gateway`` block against the emulator's :class:`~emulator.ApiConfig`.

    A scenario may override the keys a running API can change (``PATCH /_wschaos/config``):
    timings, ``ping_frames_reset_idle`` and ``limits``.

    Returns:
        The default config with the overrides applied.

    Raises:
        ScenarioError: a key a scenario may not override, or a value the emulator rejects; the
            message names the file and the key.
    """
    from emulator.config import PATCHABLE_KEYS, ApiConfig
    from emulator.exceptions import ConfigError

    where = _Where(scenario.path)
    for key, value in scenario.gateway.items():
        if key not in PATCHABLE_KEYS:
            allowed = ", ".join(sorted(PATCHABLE_KEYS))
            raise where.error(f"gateway.{key}", value, f"a scenario may only override {allowed}")
    try:
        return ApiConfig().with_overrides(
            dict(scenario.gateway), source=f"{scenario.path}: gateway"
        )
    except ConfigError as exc:
        raise ScenarioError(
            f"{scenario.path}: gateway.{exc.key}: {exc.value!r}: {exc.problem}"
        ) from exc


def parse(document: object, path: str) -> Scenario:
    """Validate a loaded YAML document; ``path`` is used in error messages only."""
    where = _Where(path)
    if not isinstance(document, dict):
        raise ScenarioError(
            f"{path}: the file must hold a mapping with name, description and steps, "
            f"got {type(document).__name__}"
        )
    for key in document:
        if key not in _TOP_KEYS:
            raise where.error(
                str(key), document[key], f"unknown key (known: {', '.join(_TOP_KEYS)})"
            )
    name = document.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise where.error("name", name, "required: lowercase letters, digits and -_.")
    description = document.get("description", "")
    if not isinstance(description, str) or "\n" in description.strip():
        raise where.error("description", description, "must be one line of text")
    time_scale = document.get("time_scale")
    if time_scale is not None and (
        isinstance(time_scale, bool)
        or not isinstance(time_scale, int | float)
        or not math.isfinite(time_scale)
        or time_scale <= 0
    ):
        raise where.error("time_scale", time_scale, "must be a positive number")
    gateway = document.get("gateway") or {}
    if not isinstance(gateway, dict):
        raise where.error("gateway", gateway, "must be a mapping of API config keys")
    client = _client_options(document.get("client") or {}, where)
    steps_doc = document.get("steps")
    if not isinstance(steps_doc, list) or not steps_doc:
        raise where.error("steps", steps_doc, "required: a non-empty list of steps")
    steps = _steps(steps_doc, path, prefix="")
    expect_doc = document.get("expect") or {}
    if not isinstance(expect_doc, dict):
        raise where.error("expect", expect_doc, "must be a mapping such as {lost_queries: 0}")
    expect = tuple(parse_expect(expect_doc, source=f"{path}: expect"))
    scenario = Scenario(
        name=name,
        description=description.strip(),
        path=path,
        steps=steps,
        time_scale=float(time_scale) if time_scale is not None else None,
        gateway=dict(gateway),
        client=client,
        expect=expect,
    )
    check_gateway(scenario)
    return scenario


def _client_options(options: object, where: _Where) -> dict[str, Any]:
    if not isinstance(options, dict):
        raise where.error("client", options, "must be a mapping of client options")
    parsed: dict[str, Any] = {}
    for key, value in options.items():
        kind = CLIENT_OPTIONS.get(key)
        field_name = f"client.{key}"
        if kind is None:
            known = ", ".join(CLIENT_OPTIONS)
            raise where.error(field_name, value, f"unknown client option (known: {known})")
        if kind == "count":
            parsed[key] = _count(value, where, field_name, minimum=1)
        elif kind == "duration_or_null" and value is None:
            parsed[key] = None
        else:
            parsed[key] = _duration(value, where, field_name)
            if kind == "positive_duration" and parsed[key] == 0:
                raise where.error(field_name, value, "must be longer than 0")
    return parsed


def _steps(items: list[Any], path: str, prefix: str) -> tuple[Step, ...]:
    return tuple(_step(item, path, f"{prefix}{index}") for index, item in enumerate(items, 1))


def _step(item: object, path: str, label: str) -> Step:
    if isinstance(item, str):
        kind, arg, bare = item, None, True
    elif isinstance(item, dict) and len(item) == 1:
        ((kind, arg),) = item.items()
        bare = False
    else:
        raise _Where(path, label).error(
            "step", item, "must be a step name or a one-key mapping such as {cut: websocket}"
        )
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        known = ", ".join(sorted(_PARSERS))
        raise _Where(path, label).error("step", kind, f"unknown step (known: {known})")
    return parser(arg, bare, _Where(path, label, kind), label)


#: Parses one step's argument: ``(arg, bare, where, label) -> Step``.
_StepParser = Callable[[object, bool, "_Where", str], Step]


# --- value checkers
def _duration(value: object, where: _Where, key: str) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise where.error(
            key, value, "not a duration (use e.g. 250ms, 30s, 10m, 2h; never negative)"
        ) from None


def _count(value: object, where: _Where, key: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise where.error(key, value, f"must be an integer >= {minimum}")
    return value


def _choice(value: object, where: _Where, key: str, choices: Sequence[Any]) -> Any:
    if value not in choices or isinstance(value, bool):
        raise where.error(key, value, f"must be one of {', '.join(map(str, choices))}")
    return value


def _mapping(arg: object, where: _Where, example: str) -> dict[str, Any]:
    if not isinstance(arg, dict):
        raise where.error(where.kind or "step", arg, f"needs a mapping, e.g. {example}")
    return arg


def _keys(
    mapping: Mapping[str, Any], where: _Where, allowed: Sequence[str], prefix: str = ""
) -> None:
    for key in mapping:
        if key not in allowed:
            known = ", ".join(allowed) if allowed else "none"
            raise where.error(f"{prefix}{key}", mapping[key], f"unknown key (known: {known})")


def _required(mapping: Mapping[str, Any], where: _Where, key: str, example: str) -> Any:
    if key not in mapping:
        raise where.error(key, None, f"required, e.g. {example}")
    return mapping[key]


def _no_arg(cls: type[Step]) -> _StepParser:
    def parse_(arg: object, bare: bool, where: _Where, label: str) -> Step:
        if not bare and arg is not None:
            raise where.error(cls.kind, arg, "takes no argument")
        return cls(label=label)

    return parse_


# --- step parsers
def _parse_query(arg: object, bare: bool, where: _Where, label: str) -> Step:
    if bare or arg is None:
        return Query(label=label)
    spec = _mapping(arg, where, "{text: ..., expect: {transport: websocket}}")
    _keys(spec, where, ("text", "expect"))
    text = spec.get("text", DEFAULT_QUERY_TEXT)
    if not isinstance(text, str) or not text:
        raise where.error("text", text, "must be a non-empty string")
    expect_doc = spec.get("expect") or {}
    if not isinstance(expect_doc, dict):
        raise where.error("expect", expect_doc, "must be a mapping, e.g. {transport: rest}")
    _keys(expect_doc, where, ("transport", "within", "reconnects", "max_reconnects"), "expect.")
    transport = expect_doc.get("transport")
    if transport is not None:
        _choice(transport, where, "expect.transport", TRANSPORTS)
    within = expect_doc.get("within")
    reconnects = expect_doc.get("reconnects")
    max_reconnects = expect_doc.get("max_reconnects")
    expect = QueryExpect(
        transport=transport,
        within=_duration(within, where, "expect.within") if within is not None else None,
        reconnects=(
            _count(reconnects, where, "expect.reconnects") if reconnects is not None else None
        ),
        max_reconnects=(
            _count(max_reconnects, where, "expect.max_reconnects")
            if max_reconnects is not None
            else None
        ),
    )
    return Query(label=label, text=text, expect=expect)


def _parse_seconds(cls: type[Idle] | type[Wait]) -> _StepParser:
    def parse_(arg: object, bare: bool, where: _Where, label: str) -> Step:
        if bare:
            raise where.error(cls.kind, None, f"needs a duration, e.g. {{{cls.kind}: 11m}}")
        return cls(label=label, seconds=_duration(arg, where, cls.kind))

    return parse_


def _parse_target(
    cls: type[Cut] | type[Restore] | type[ClearToxics], default: str | None
) -> _StepParser:
    def parse_(arg: object, bare: bool, where: _Where, label: str) -> Step:
        if bare or arg is None:
            if default is None:
                raise where.error(cls.kind, None, "needs a target: websocket, rest or all")
            return cls(label=label, target=default)
        return cls(label=label, target=_choice(arg, where, cls.kind, TARGETS))

    return parse_


def _parse_toxic(arg: object, bare: bool, where: _Where, label: str) -> Step:
    example = "{target: websocket, type: latency, attributes: {latency: 100}}"
    spec = _mapping(None if bare else arg, where, example)
    _keys(spec, where, ("target", "type", "name", "stream", "toxicity", "attributes"))
    target = _choice(
        _required(spec, where, "target", "target: websocket"), where, "target", TARGETS
    )
    type_ = _choice(
        _required(spec, where, "type", "type: latency"), where, "type", tuple(TOXIC_ATTRIBUTES)
    )
    name = spec.get("name")
    if name is not None and (not isinstance(name, str) or not name or "/" in name):
        raise where.error("name", name, "must be a non-empty string without '/'")
    stream = _choice(spec.get("stream", "downstream"), where, "stream", ("upstream", "downstream"))
    toxicity = spec.get("toxicity", 1.0)
    if (
        isinstance(toxicity, bool)
        or not isinstance(toxicity, int | float)
        or not 0.0 <= toxicity <= 1.0
    ):
        raise where.error("toxicity", toxicity, "must be a number from 0 to 1")
    attributes = spec.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise where.error("attributes", attributes, "must be a mapping of integers (wire units)")
    _keys(attributes, where, TOXIC_ATTRIBUTES[type_], "attributes.")
    for key, value in attributes.items():
        # Toxiproxy decodes attributes strictly as Go integers (spec §2.1): 100.0 is a 400.
        _count(value, where, f"attributes.{key}")
    if type_ == "slicer" and attributes.get("average_size", 0) < 1:
        raise where.error(
            "attributes.average_size", attributes.get("average_size"), "must be >= 1 for slicer"
        )
    return Toxic(
        label=label,
        target=target,
        type=type_,
        name=name,
        stream=stream,
        toxicity=float(toxicity),
        attributes=dict(attributes),
    )


def _parse_fault(arg: object, bare: bool, where: _Where, label: str) -> Step:
    spec = _mapping(None if bare else arg, where, "{type: drop_replies, route: finops_query}")
    type_ = _choice(
        _required(spec, where, "type", "type: drop_replies"), where, "type", tuple(FAULT_PARAMS)
    )
    params_spec = FAULT_PARAMS[type_]
    _keys(spec, where, ("type", "for", *params_spec))
    params: dict[str, Any] = {}
    for key, (kind, required) in params_spec.items():
        if key not in spec:
            if required:
                raise where.error(key, None, f"required by fault {type_}")
            continue
        value = spec[key]
        if kind == "str" and (not isinstance(value, str) or not value):
            raise where.error(key, value, "must be a non-empty string")
        if kind == "duration":
            _duration(value, where, key)
        if kind == "status":
            _choice(value, where, key, REJECT_STATUSES)
        params[key] = value
    for_ = spec.get("for")
    if for_ is not None:
        _duration(for_, where, "for")
    return Fault(label=label, type=type_, params=params, for_=for_)


def _parse_backend(arg: object, bare: bool, where: _Where, label: str) -> Step:
    spec = _mapping(None if bare else arg, where, "{action: delete_connection}")
    _keys(spec, where, ("action", "data", "connectionId"))
    action = _choice(
        _required(spec, where, "action", "action: delete_connection"),
        where,
        "action",
        ("delete_connection", "post"),
    )
    if action == "post" and "data" not in spec:
        raise where.error("data", None, "required by action post")
    if action == "delete_connection" and "data" in spec:
        raise where.error("data", spec["data"], "only action post takes data")
    connection_id = spec.get("connectionId")
    if connection_id is not None and (not isinstance(connection_id, str) or not connection_id):
        raise where.error("connectionId", connection_id, "must be a non-empty string")
    return Backend(label=label, action=action, data=spec.get("data"), connection_id=connection_id)


def _parse_close_connections(arg: object, bare: bool, where: _Where, label: str) -> Step:
    if bare or arg is None:
        return CloseConnections(label=label)
    spec = _mapping(arg, where, "{code: 1001, reason: Going away}")
    _keys(spec, where, ("code", "reason", "abrupt"))
    abrupt = spec.get("abrupt", False)
    if not isinstance(abrupt, bool):
        raise where.error("abrupt", abrupt, "must be true or false")
    if abrupt and ("code" in spec or "reason" in spec):
        key = "code" if "code" in spec else "reason"
        raise where.error(key, spec[key], "an abrupt close sends no close frame, so no code/reason")
    code = spec.get("code", 1001)
    if isinstance(code, bool) or not isinstance(code, int) or code not in _SENDABLE_CODES:
        raise where.error(
            "code", code, "must be a close code a server may send (1000-1003, 1007-1014, 3000-4999)"
        )
    reason = spec.get("reason", "Going away" if code == 1001 else "")
    if not isinstance(reason, str) or len(reason.encode()) > 123:
        raise where.error("reason", reason, "must be a string of at most 123 bytes (RFC 6455 §5.5)")
    return CloseConnections(label=label, code=code, reason=reason, abrupt=abrupt)


def _parse_expect_status(arg: object, bare: bool, where: _Where, label: str) -> Step:
    if isinstance(arg, str) and not bare:
        return ExpectStatus(label=label, status=_choice(arg, where, "status", STATUSES))
    spec = _mapping(None if bare else arg, where, "{status: connected, within: 5s}")
    _keys(spec, where, ("status", "within"))
    status = _choice(
        _required(spec, where, "status", "status: connected"), where, "status", STATUSES
    )
    within = spec.get("within")
    return ExpectStatus(
        label=label,
        status=status,
        within=_duration(within, where, "within") if within is not None else DEFAULT_STATUS_WITHIN,
    )


def _parse_repeat(arg: object, bare: bool, where: _Where, label: str) -> Step:
    spec = _mapping(None if bare else arg, where, "{times: 3, steps: [...]}")
    _keys(spec, where, ("times", "steps"))
    times = _count(_required(spec, where, "times", "times: 3"), where, "times", minimum=1)
    steps = _required(spec, where, "steps", "steps: [cut: websocket, ...]")
    if not isinstance(steps, list) or not steps:
        raise where.error("steps", steps, "must be a non-empty list of steps")
    return Repeat(label=label, times=times, steps=_steps(steps, where.path, prefix=f"{label}."))


_PARSERS: dict[str, _StepParser] = {
    "connect": _no_arg(Connect),
    "close": _no_arg(Close),
    "reconnect": _no_arg(Reconnect),
    "query": _parse_query,
    "idle": _parse_seconds(Idle),
    "wait": _parse_seconds(Wait),
    "cut": _parse_target(Cut, None),
    "restore": _parse_target(Restore, None),
    "toxic": _parse_toxic,
    "clear_toxics": _parse_target(ClearToxics, "all"),
    "fault": _parse_fault,
    "clear_faults": _no_arg(ClearFaults),
    "backend": _parse_backend,
    "close_connections": _parse_close_connections,
    "expect_status": _parse_expect_status,
    "repeat": _parse_repeat,
}

#: Every step name a scenario may use.
STEP_KINDS: tuple[str, ...] = tuple(_PARSERS)


def _fmt(seconds: float) -> str:
    return format_duration(seconds)
