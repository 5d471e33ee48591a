"""The scenario model and its complete validation (design §8).

A scenario file is YAML: ``name``, ``description``, optional ``time_scale``, ``gateway`` (API
config overrides), ``client`` (client option overrides), ``steps`` and ``expect``. :func:`load`
turns one file into a :class:`Scenario` of frozen step objects, or raises
:class:`~chaos.errors.ScenarioError` whose one-line message names the file, the step number
(``4`` at top level, ``4.2`` for the second step inside a ``repeat`` at step 4), the key and the
value. Nothing here performs I/O beyond reading the file.

Validation is table-driven: each mapping (the file, a step's argument, ``client:``) is a table of
:class:`_Key` rules, checked by :func:`_fields`. What the emulator and Toxiproxy accept is not
restated here: the ``gateway`` block is checked by the emulator's own config validation
(:func:`check_gateway`), a ``fault`` by the emulator's fault registry, and toxic attributes come
from the embedded Toxiproxy's toxic registry, so a file that loads will run.

Durations are kept in configured seconds (unscaled); the runner applies the time scale.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import yaml

from chaos.adapter import STATES
from chaos.errors import ScenarioError
from chaos.gates import Gate, parse_expect
from chaos.toxiproxy.toxics import REGISTRY as _TOXICS
from emulator.frames import MAX_REASON_BYTES, SENDABLE_CODES, CloseCode, default_reason, is_sendable
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
    "parse",
]

#: Client states an ``expect_status`` step may name (design §7): what adapters report.
STATUSES: tuple[str, ...] = STATES
#: Transports a query may be expected to end on; ``error`` expects a clear exception.
TRANSPORTS: tuple[str, ...] = ("websocket", "rest", "error")
#: Proxy targets of ``cut``, ``restore``, ``toxic`` and ``clear_toxics``.
TARGETS: tuple[str, ...] = ("websocket", "rest", "all")
#: Toxic types and their attributes, all integers in Toxiproxy wire units (spec §2.4), as the
#: embedded Toxiproxy registers them (units: :mod:`chaos.toxiproxy.toxics`).
TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
    for name, cls in _TOXICS.items()
}
#: Default ``within`` of ``expect_status``, in configured seconds.
DEFAULT_STATUS_WITHIN = 5.0
#: Query text when a step gives none.
DEFAULT_QUERY_TEXT = "EC2 spend last month"

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


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
class _Timed(Step):
    """A step that lets ``seconds`` (configured) pass."""

    seconds: float = 0.0

    def describe(self) -> str:
        return f"{self.kind} {format_duration(self.seconds)}"


@dataclass(frozen=True)
class Idle(_Timed):
    """No client-originated traffic except the heartbeat, for ``seconds`` (configured)."""

    kind: ClassVar[str] = "idle"


@dataclass(frozen=True)
class Wait(_Timed):
    """Time passes: ``seconds`` (configured)."""

    kind: ClassVar[str] = "wait"


@dataclass(frozen=True)
class _Targeted(Step):
    """A step acting on the Toxiproxy proxies of ``target`` (``websocket``, ``rest``, ``all``)."""

    target: str = "all"

    def describe(self) -> str:
        return f"{self.kind} {self.target}"


@dataclass(frozen=True)
class Cut(_Targeted):
    """Disable the Toxiproxy proxies of ``target``."""

    kind: ClassVar[str] = "cut"


@dataclass(frozen=True)
class Restore(_Targeted):
    """Enable the Toxiproxy proxies of ``target``."""

    kind: ClassVar[str] = "restore"


@dataclass(frozen=True)
class ClearToxics(_Targeted):
    """Remove every toxic of ``target``."""

    kind: ClassVar[str] = "clear_toxics"


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
    code: int = int(CloseCode.GOING_AWAY)
    reason: str = default_reason(CloseCode.GOING_AWAY)
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


# ------------------------------------------------------------------------------------- loading
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


def parse(document: object, path: str) -> Scenario:
    """Validate a loaded YAML document; ``path`` is used in error messages only.

    Raises:
        ScenarioError: the first problem, naming ``path``, the step and the key.
    """
    if not isinstance(document, dict):
        raise ScenarioError(
            f"{path}: the file must hold a mapping with name, description and steps, "
            f"got {type(document).__name__}"
        )
    values = _fields(document, _Where(path), _SCENARIO)
    scenario = Scenario(path=path, **values)
    check_gateway(scenario)
    return scenario


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
        raise where.error(f"gateway.{exc.key}", exc.value, exc.problem) from exc


# ---------------------------------------------------------------------------------- validation
class _Where:
    """Builds error messages: ``file: step 4.2 (toxic): attributes.rate: 'x': problem``."""

    def __init__(self, path: str, label: str | None = None, kind: str | None = None) -> None:
        self.path = path
        self.label = label
        self.kind = kind

    def __str__(self) -> str:
        if self.label is None:
            return self.path
        return f"{self.path}: step {self.label}" + (f" ({self.kind})" if self.kind else "")

    def error(self, key: str, value: object, problem: str) -> ScenarioError:
        """``key`` holds ``value``, which has ``problem``."""
        return ScenarioError(f"{self}: {key}: {value!r}: {problem}")

    def rejected(self, problem: str) -> ScenarioError:
        """A problem already naming its key (from the emulator's own validation)."""
        return ScenarioError(f"{self}: {problem}")


#: Checks one value: ``check(value, where, key)`` returns it parsed or raises ``where.error``.
Check = Callable[[Any, _Where, str], Any]


@dataclass(frozen=True)
class _Key:
    """How one key of a mapping is checked.

    Attributes:
        check: parses a given value.
        default: the value when the key is absent or null.
        required: an example shown when the key is missing; None = optional.
        nullable: an explicit null is a value (``heartbeat_interval: null``), not an absent key.
    """

    check: Check
    default: Any = None
    required: str | None = None
    nullable: bool = False


def _fields(
    spec: Mapping[str, Any], where: _Where, table: Mapping[str, _Key], prefix: str = ""
) -> dict[str, Any]:
    """Check ``spec`` against ``table``: no unknown key, required keys given, each value.

    Returns:
        Every key of ``table``, parsed or defaulted, in the table's order.
    """
    _only(spec, where, tuple(table), prefix)
    values: dict[str, Any] = {}
    for key, rule in table.items():
        value = spec.get(key)
        if value is not None:
            values[key] = rule.check(value, where, prefix + key)
        elif rule.nullable and key in spec:
            values[key] = None
        elif rule.required is not None:
            raise where.error(prefix + key, None, f"required, e.g. {rule.required}")
        else:
            values[key] = rule.default
    return values


def _only(spec: Mapping[str, Any], where: _Where, known: Sequence[str], prefix: str = "") -> None:
    """Reject the first key of ``spec`` that is not ``known``."""
    for key in spec:
        if key not in known:
            names = ", ".join(known) or "none"
            raise where.error(f"{prefix}{key}", spec[key], f"unknown key (known: {names})")


# --- value checks
def _is(
    test: Callable[[Any], object], problem: str, convert: Callable[[Any], Any] | None = None
) -> Check:
    """A check: ``test(value)`` must hold, else ``problem``; returns ``convert(value)``."""

    def check(value: object, where: _Where, key: str) -> Any:
        if not test(value):
            raise where.error(key, value, problem)
        return value if convert is None else convert(value)

    return check


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _duration(value: object, where: _Where, key: str) -> float:
    try:
        return parse_duration(value)
    except ValueError:
        raise where.error(
            key, value, "not a duration (use e.g. 250ms, 30s, 10m, 2h; never negative)"
        ) from None


def _positive_duration(value: object, where: _Where, key: str) -> float:
    seconds = _duration(value, where, key)
    if seconds == 0:
        raise where.error(key, value, "must be longer than 0")
    return seconds


def _count(minimum: int = 0) -> Check:
    return _is(lambda v: _integer(v) and v >= minimum, f"must be an integer >= {minimum}")


def _one_of(choices: Sequence[Any]) -> Check:
    return _is(
        lambda v: not isinstance(v, bool) and v in choices,
        f"must be one of {', '.join(map(str, choices))}",
    )


def _mapping(example: str) -> Check:
    return _is(lambda v: isinstance(v, dict), f"must be a mapping, e.g. {example}")


_text = _is(lambda v: isinstance(v, str) and v, "must be a non-empty string")
_flag = _is(lambda v: isinstance(v, bool), "must be true or false")
_anything = _is(lambda v: True, "")
_name = _is(
    lambda v: isinstance(v, str) and _NAME.match(v), "must be lowercase letters, digits and -_."
)
_line = _is(
    lambda v: isinstance(v, str) and "\n" not in v.strip(), "must be one line of text", str.strip
)
_time_scale = _is(lambda v: _number(v) and v > 0, "must be a positive number", float)
_fraction = _is(lambda v: _number(v) and 0 <= v <= 1, "must be a number from 0 to 1", float)
_close_code = _is(is_sendable, f"must be a close code a server may send ({SENDABLE_CODES})")
_close_reason = _is(
    lambda v: isinstance(v, str) and len(v.encode()) <= MAX_REASON_BYTES,
    f"must be a string of at most {MAX_REASON_BYTES} bytes (RFC 6455 §5.5)",
)
_toxic_name = _is(
    lambda v: isinstance(v, str) and v and "/" not in v, "must be a non-empty string without '/'"
)


def _toxic_attributes(value: object, where: _Where, key: str) -> dict[str, int]:
    attributes = _mapping("{latency: 100} (integers, wire units)")(value, where, key)
    # Toxiproxy decodes attributes strictly as Go integers (spec §2.1): 100.0 is a 400.
    return {name: _count()(number, where, f"{key}.{name}") for name, number in attributes.items()}


def _client_options(value: object, where: _Where, key: str) -> dict[str, Any]:
    given = _mapping("{heartbeat_interval: null}")(value, where, key)
    values = _fields(given, where, CLIENT_OPTIONS, f"{key}.")
    return {name: values[name] for name in given}


def _expect(value: object, where: _Where, key: str) -> tuple[Gate, ...]:
    block = _mapping("{lost_queries: 0}")(value, where, key)
    return tuple(parse_expect(block, source=f"{where}: {key}"))


def _step_list(value: object, where: _Where, key: str) -> tuple[Step, ...]:
    """The steps of the file (``where`` has no label) or of the ``repeat`` at ``where``."""
    if not isinstance(value, list) or not value:
        raise where.error(key, value, "must be a non-empty list of steps")
    prefix = f"{where.label}." if where.label is not None else ""
    return tuple(_step(item, where.path, f"{prefix}{index}") for index, item in enumerate(value, 1))


def _query_expect(value: object, where: _Where, key: str) -> QueryExpect:
    block = _mapping("{transport: rest}")(value, where, key)
    return QueryExpect(**_fields(block, where, _QUERY_EXPECT, f"{key}."))


# --- tables
#: Client option overrides a scenario may set (design §7); durations in configured seconds.
CLIENT_OPTIONS: Mapping[str, _Key] = MappingProxyType(
    {
        "heartbeat_interval": _Key(_duration, nullable=True),  # null: no heartbeat
        "pong_timeout": _Key(_duration, nullable=True),
        "max_reconnect_attempts": _Key(_count(1)),
        "backoff_base": _Key(_duration),
        "backoff_max": _Key(_duration),
        "query_timeout": _Key(_positive_duration),
        "fallback_after": _Key(_duration),
        "open_timeout": _Key(_positive_duration),
    }
)
_SCENARIO: Mapping[str, _Key] = {
    "name": _Key(_name, required="name: idle-timeout"),
    "description": _Key(_line, default=""),
    "time_scale": _Key(_time_scale),
    "gateway": _Key(_mapping("{idle_timeout: 10m}"), default=MappingProxyType({})),
    "client": _Key(_client_options, default=MappingProxyType({})),
    "steps": _Key(_step_list, required="steps: [connect, query]"),
    "expect": _Key(_expect, default=()),
}
_QUERY_EXPECT: Mapping[str, _Key] = {
    "transport": _Key(_one_of(TRANSPORTS)),
    "within": _Key(_duration),
    "reconnects": _Key(_count()),
    "max_reconnects": _Key(_count()),
}
_QUERY: Mapping[str, _Key] = {
    "text": _Key(_text, default=DEFAULT_QUERY_TEXT),
    "expect": _Key(_query_expect, default=QueryExpect()),
}
_TOXIC: Mapping[str, _Key] = {
    "target": _Key(_one_of(TARGETS), required="target: websocket"),
    "type": _Key(_one_of(tuple(TOXIC_ATTRIBUTES)), required="type: latency"),
    "name": _Key(_toxic_name),
    "stream": _Key(_one_of(("upstream", "downstream")), default="downstream"),
    "toxicity": _Key(_fraction, default=1.0),
    "attributes": _Key(_toxic_attributes, default=MappingProxyType({})),
}
_BACKEND: Mapping[str, _Key] = {
    "action": _Key(_one_of(("delete_connection", "post")), required="action: delete_connection"),
    "data": _Key(_anything),
    "connectionId": _Key(_text),
}
_CLOSE_CONNECTIONS: Mapping[str, _Key] = {
    "code": _Key(_close_code, default=int(CloseCode.GOING_AWAY)),
    "reason": _Key(_close_reason),
    "abrupt": _Key(_flag, default=False),
}
_EXPECT_STATUS: Mapping[str, _Key] = {
    "status": _Key(_one_of(STATUSES), required="status: connected"),
    "within": _Key(_duration, default=DEFAULT_STATUS_WITHIN),
}
_REPEAT: Mapping[str, _Key] = {
    "times": _Key(_count(1), required="times: 3"),
    "steps": _Key(_step_list, required="steps: [cut: websocket, ...]"),
}


# --- steps
#: Parses one step's argument (None when the step is written alone): ``(arg, where, label)``.
_StepParser = Callable[[object, _Where, str], Step]


def _step(item: object, path: str, label: str) -> Step:
    if isinstance(item, str):
        kind, arg = item, None
    elif isinstance(item, dict) and len(item) == 1:
        ((kind, arg),) = item.items()
    else:
        raise _Where(path, label).error(
            "step", item, "must be a step name or a one-key mapping such as {cut: websocket}"
        )
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        known = ", ".join(_PARSERS)
        raise _Where(path, label).error("step", kind, f"unknown step (known: {known})")
    return parser(arg, _Where(path, label, kind), label)


def _no_arg(cls: type[Step]) -> _StepParser:
    """``connect``: a step that takes no argument."""

    def parse_(arg: object, where: _Where, label: str) -> Step:
        if arg is not None:
            raise where.error(cls.kind, arg, "takes no argument")
        return cls(label=label)

    return parse_


def _scalar(
    cls: type[_Timed | _Targeted], check: Check, needs: str, default: Any = None
) -> _StepParser:
    """``{idle: 11m}``, ``{cut: websocket}``: a step whose argument is one value.

    Args:
        needs: what a step written alone lacks, for the error; unused with a ``default``.
        default: the value when the step is written alone; None = it must be given.
    """
    attribute = "seconds" if issubclass(cls, _Timed) else "target"

    def parse_(arg: object, where: _Where, label: str) -> Step:
        if arg is None and default is None:
            raise where.error(cls.kind, None, f"needs {needs}")
        value = default if arg is None else check(arg, where, cls.kind)
        return cls(label=label, **{attribute: value})

    return parse_


def _mapped(
    cls: type[Step],
    table: Mapping[str, _Key],
    example: str,
    *,
    alone: bool = False,
    shorthand: str | None = None,
    then: Callable[[dict[str, Any], Mapping[str, Any], _Where], dict[str, Any]] | None = None,
) -> _StepParser:
    """A step whose argument is a mapping checked against ``table``.

    Args:
        example: a valid argument, for the error when it is not a mapping.
        alone: the step may be written alone (every key defaulted).
        shorthand: the key a bare value sets (``{expect_status: connected}``).
        then: ``then(values, written, where)`` checks keys against each other and returns the
            step's fields.
    """

    def parse_(arg: object, where: _Where, label: str) -> Step:
        if arg is None and alone:
            arg = {}
        elif shorthand is not None and arg is not None and not isinstance(arg, dict):
            arg = {shorthand: arg}
        if not isinstance(arg, dict):
            raise where.error(cls.kind, arg, f"needs a mapping, e.g. {{{cls.kind}: {example}}}")
        values = _fields(arg, where, table)
        return cls(label=label, **(then(values, arg, where) if then else values))

    return parse_


def _toxic_fields(
    values: dict[str, Any], written: Mapping[str, Any], where: _Where
) -> dict[str, Any]:
    attributes = values["attributes"]
    _only(attributes, where, TOXIC_ATTRIBUTES[values["type"]], "attributes.")
    if values["type"] == "slicer" and attributes.get("average_size", 0) < 1:
        average = attributes.get("average_size")
        raise where.error("attributes.average_size", average, "must be >= 1 for slicer")
    return values


def _backend_fields(
    values: dict[str, Any], written: Mapping[str, Any], where: _Where
) -> dict[str, Any]:
    action, data = values["action"], values["data"]
    if action == "post" and data is None:
        raise where.error("data", None, "required by action post")
    if action != "post" and data is not None:
        raise where.error("data", data, "only action post takes data")
    return {"action": action, "data": data, "connection_id": values["connectionId"]}


def _close_fields(
    values: dict[str, Any], written: Mapping[str, Any], where: _Where
) -> dict[str, Any]:
    if values["abrupt"] and ("code" in written or "reason" in written):
        key = "code" if "code" in written else "reason"
        raise where.error(
            key, written[key], "an abrupt close sends no close frame, so no code/reason"
        )
    if values["reason"] is None:
        values["reason"] = default_reason(values["code"])  # what the gateway sends by default
    return values


def _parse_fault(arg: object, where: _Where, label: str) -> Step:
    """A gateway fault, validated by the emulator's own fault registry."""
    from emulator.faults import REGISTRY, FaultError, parse_fault

    if not isinstance(arg, dict):
        raise where.error("fault", arg, "needs a mapping, e.g. {fault: {type: drop_replies}}")
    params = dict(arg)
    type_ = params.pop("type", None)
    if type_ is None:
        raise where.error("type", None, "required, e.g. type: drop_replies")
    _one_of(sorted(REGISTRY))(type_, where, "type")
    for_ = params.pop("for", None)
    if for_ is not None:
        _duration(for_, where, "for")
    for spec in dataclasses.fields(REGISTRY[type_]):  # type: ignore[arg-type]
        missing = spec.default is dataclasses.MISSING is spec.default_factory
        if spec.init and missing and spec.name not in params:
            raise where.error(spec.name, None, f"required by fault {type_}")
    try:
        parse_fault({"type": type_, **params})
    except FaultError as exc:
        raise where.rejected(str(exc)) from None
    return Fault(label=label, type=type_, params=params, for_=for_)


_PARSERS: dict[str, _StepParser] = {
    "connect": _no_arg(Connect),
    "close": _no_arg(Close),
    "reconnect": _no_arg(Reconnect),
    "query": _mapped(Query, _QUERY, "{expect: {transport: websocket}}", alone=True),
    "idle": _scalar(Idle, _duration, "a duration, e.g. {idle: 11m}"),
    "wait": _scalar(Wait, _duration, "a duration, e.g. {wait: 30s}"),
    "cut": _scalar(Cut, _one_of(TARGETS), "a target: websocket, rest or all"),
    "restore": _scalar(Restore, _one_of(TARGETS), "a target: websocket, rest or all"),
    "toxic": _mapped(Toxic, _TOXIC, "{target: websocket, type: latency}", then=_toxic_fields),
    "clear_toxics": _scalar(ClearToxics, _one_of(TARGETS), "", default="all"),
    "fault": _parse_fault,
    "clear_faults": _no_arg(ClearFaults),
    "backend": _mapped(Backend, _BACKEND, "{action: delete_connection}", then=_backend_fields),
    "close_connections": _mapped(
        CloseConnections, _CLOSE_CONNECTIONS, "{code: 1001}", alone=True, then=_close_fields
    ),
    "expect_status": _mapped(
        ExpectStatus, _EXPECT_STATUS, "{status: connected, within: 5s}", shorthand="status"
    ),
    "repeat": _mapped(Repeat, _REPEAT, "{times: 3, steps: [...]}"),
}

#: Every step name a scenario may use.
STEP_KINDS: tuple[str, ...] = tuple(_PARSERS)
