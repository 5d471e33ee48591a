"""The API config: what the emulated API Gateway WebSocket API looks like (design §5).

An :class:`ApiConfig` is immutable and always valid: building one (directly, from a mapping, from
a YAML file, or with overrides) checks every key and raises :class:`ConfigError` naming the source,
the key and the value. Every key is optional. A config that declares neither ``routes`` nor
``rest`` is the built-in sample API (design §6); one that declares either describes its own API, and
its missing ``routes``, ``rest`` and ``two_way_routes`` are empty.

Durations are written ``250ms``, ``30s``, ``10m``, ``2h`` or as seconds; they are stored in
seconds, unscaled (the time scale is the server's, see :mod:`emulator.timing`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from emulator.exceptions import ConfigError, HandlerError
from emulator.lambda_runtime import load_handler
from emulator.routing import RouteSelector
from emulator.timing import format_duration, parse_duration

__all__ = ["PATCHABLE_KEYS", "ApiConfig", "AuthorizerConfig", "Limits", "load_config"]

SAMPLE_HANDLERS = "emulator.sample.handlers"
SAMPLE_ROUTES: Mapping[str, str] = MappingProxyType(
    {
        "$connect": f"{SAMPLE_HANDLERS}:connect",
        "$disconnect": f"{SAMPLE_HANDLERS}:disconnect",
        "$default": f"{SAMPLE_HANDLERS}:default",
        "ping": f"{SAMPLE_HANDLERS}:ping",
        "finops_query": f"{SAMPLE_HANDLERS}:finops_query",
    }
)
SAMPLE_TWO_WAY_ROUTES: tuple[str, ...] = ("ping", "$default")
SAMPLE_REST: Mapping[str, str] = MappingProxyType({"POST /query": f"{SAMPLE_HANDLERS}:rest_query"})

#: Keys ``PATCH /_wschaos/config`` may change on a running API (timing and limits).
PATCHABLE_KEYS = frozenset(
    {
        "idle_timeout",
        "max_connection_duration",
        "integration_timeout",
        "ping_frames_reset_idle",
        "limits",
    }
)

#: Duration keys of :class:`ApiConfig`: seconds, positive; written like ``10m``.
_DURATIONS = ("idle_timeout", "max_connection_duration", "integration_timeout")

_STAGE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_RESERVED_STAGES = frozenset({"_wschaos", "metrics"})
_ROUTE_KEY = re.compile(r"^[^\s]{1,128}$")
_RESERVED_ROUTES = frozenset({"$connect", "$disconnect", "$default"})
_REST_KEY = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (/[^\s]*)$")
# A path segment: literal, {name}, or (last only) the greedy {name+}.
_REST_PARAM = re.compile(r"^\{[A-Za-z0-9._-]+\+?\}$")
_IDENTITY_SOURCE = re.compile(r"^route\.request\.(header|querystring)\.([^\s.]+)$")

# Validation errors name this placeholder source; from_mapping, with_overrides and load_config
# replace it with the real one (a file, --stage, PATCH /_wschaos/config).
_SOURCE = "<config>"


def _bad(key: str, value: object, problem: str) -> ConfigError:
    return ConfigError(_SOURCE, key, value, problem)


def _check_keys(data: Mapping[Any, Any], known: Collection[str], prefix: str = "") -> None:
    for key in data:
        if key not in known:
            raise _bad(
                f"{prefix}{key}", data[key], f"unknown key (known: {', '.join(sorted(known))})"
            )


def _duration(key: str, value: object) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise _bad(key, value, str(exc)) from None
    if seconds <= 0:
        raise _bad(key, value, "must be positive")
    return seconds


def _handler(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise _bad(key, value, "must be a handler reference module:function")
    try:
        load_handler(value)
    except HandlerError as exc:
        raise _bad(key, value, str(exc)) from None
    return value


def _positive_int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise _bad(key, value, "must be a positive integer")
    return value


@dataclass(frozen=True)
class Limits:
    """Size and rate limits (spec §3).

    Attributes:
        frame_bytes: the largest payload of one frame; a bigger one closes with 1009.
        message_bytes: the largest message (all its fragments); a bigger one closes with 1009,
            and a bigger @connections post gets 413.
        new_connections_per_second: handshakes accepted per second before 429; None = no limit.
    """

    frame_bytes: int = 32768
    message_bytes: int = 131072
    new_connections_per_second: float | None = 500

    def __post_init__(self) -> None:
        _positive_int("limits.frame_bytes", self.frame_bytes)
        _positive_int("limits.message_bytes", self.message_bytes)
        rate = self.new_connections_per_second
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0
        ):
            raise _bad("limits.new_connections_per_second", rate, "must be positive or null")

    @classmethod
    def from_mapping(cls, data: object, *, base: Limits | None = None) -> Limits:
        """Limits from a mapping; keys it does not name keep ``base``'s values."""
        if not isinstance(data, Mapping):
            raise _bad("limits", data, "must be a mapping")
        _check_keys(data, [f.name for f in fields(cls)], "limits.")
        return replace(base or cls(), **dict(data))

    def to_mapping(self) -> dict[str, Any]:
        """The limits as YAML/JSON-ready data."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class AuthorizerConfig:
    """A Lambda REQUEST authorizer on ``$connect`` (spec §1.2).

    Attributes:
        handler: ``module:function`` returning an IAM policy (``principalId``, ``policyDocument``,
            optional ``context``).
        identity_sources: ``route.request.header.NAME`` or ``route.request.querystring.NAME``;
            a missing one gives 401 without invoking the handler.
    """

    handler: str
    identity_sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _handler("authorizer.handler", self.handler)
        sources = self.identity_sources
        if not isinstance(sources, list | tuple):
            raise _bad("authorizer.identity_sources", sources, "must be a list")
        for source in sources:
            if not isinstance(source, str) or not _IDENTITY_SOURCE.match(source):
                raise _bad(
                    "authorizer.identity_sources",
                    source,
                    "must be route.request.header.NAME or route.request.querystring.NAME",
                )
        object.__setattr__(self, "identity_sources", tuple(sources))

    @classmethod
    def from_mapping(cls, data: object) -> AuthorizerConfig:
        """An authorizer from ``{handler, identity_sources?}``."""
        if not isinstance(data, Mapping):
            raise _bad("authorizer", data, "must be a mapping with handler")
        _check_keys(data, ("handler", "identity_sources"), "authorizer.")
        if "handler" not in data:
            raise _bad("authorizer.handler", None, "is required")
        return cls(data["handler"], data.get("identity_sources", ()))

    def to_mapping(self) -> dict[str, Any]:
        """The authorizer as YAML/JSON-ready data."""
        return {"handler": self.handler, "identity_sources": list(self.identity_sources)}


@dataclass(frozen=True)
class ApiConfig:
    """An emulated API Gateway WebSocket API (with its REST API beside it).

    ``ApiConfig()`` is the built-in sample API. Durations are seconds (strings like ``"10m"`` are
    accepted and converted); handlers are ``module:function`` references, checked by importing.

    Attributes:
        stage: the stage in every URL (``/prod``).
        route_selection_expression: how a message picks its route, e.g. ``$request.body.action``.
        idle_timeout: seconds without data messages before a 1001 close (AWS: 10 min).
        max_connection_duration: seconds before a connection is closed regardless (AWS: 2 h).
        integration_timeout: seconds a handler may run (AWS: 29 s); a processing budget.
        ping_frames_reset_idle: whether protocol pings count as activity (AWS: believed not).
        limits: size and rate limits.
        authorizer: the ``$connect`` Lambda authorizer, or None for none.
        routes: route key -> handler; None = the sample API's (see the module docstring).
        two_way_routes: routes whose handler's ``body`` is sent back (a ``$default`` route
            response).
        rest: ``"METHOD /path"`` -> handler for the REST API (``{name}`` and a last ``{name+}``
            allowed).
    """

    stage: str = "prod"
    route_selection_expression: str = "$request.body.action"
    idle_timeout: float = 600.0
    max_connection_duration: float = 7200.0
    integration_timeout: float = 29.0
    ping_frames_reset_idle: bool = False
    limits: Limits = field(default_factory=Limits)
    authorizer: AuthorizerConfig | None = None
    routes: Mapping[str, str] | None = None
    two_way_routes: tuple[str, ...] | None = None
    rest: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if not isinstance(self.stage, str) or not _STAGE.match(self.stage):
            raise _bad("stage", self.stage, "must be 1-128 letters, digits, '-' or '_'")
        if self.stage in _RESERVED_STAGES:
            raise _bad("stage", self.stage, "is reserved by the emulator")
        try:
            RouteSelector.parse(self.route_selection_expression)
        except ValueError as exc:
            expression = self.route_selection_expression
            raise _bad("route_selection_expression", expression, str(exc)) from None
        for key in _DURATIONS:
            set_(self, key, _duration(key, getattr(self, key)))
        if not isinstance(self.ping_frames_reset_idle, bool):
            raise _bad("ping_frames_reset_idle", self.ping_frames_reset_idle, "must be a boolean")
        if isinstance(self.limits, Mapping):
            set_(self, "limits", Limits.from_mapping(self.limits))
        elif not isinstance(self.limits, Limits):
            raise _bad("limits", self.limits, "must be a mapping")
        if isinstance(self.authorizer, Mapping):
            set_(self, "authorizer", AuthorizerConfig.from_mapping(self.authorizer))
        elif self.authorizer is not None and not isinstance(self.authorizer, AuthorizerConfig):
            raise _bad("authorizer", self.authorizer, "must be a mapping")
        sample = self.routes is None and self.rest is None
        routes = _routes(SAMPLE_ROUTES if sample else (self.routes or {}))
        set_(self, "routes", MappingProxyType(routes))
        set_(self, "rest", MappingProxyType(_rest(SAMPLE_REST if sample else (self.rest or {}))))
        two_way = self.two_way_routes
        if two_way is None:
            two_way = SAMPLE_TWO_WAY_ROUTES if sample else ()
        set_(self, "two_way_routes", _two_way(two_way, routes))

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, *, source: str = _SOURCE) -> ApiConfig:
        """Validate a mapping (a parsed YAML file) into a config.

        Raises:
            ConfigError: an unknown key or a bad value; names ``source``, the key and the value.
        """
        if data is None:
            data = {}
        try:
            if not isinstance(data, Mapping):
                raise _bad("(top level)", data, "must be a mapping of config keys")
            _check_keys(data, [f.name for f in fields(cls)])
            return cls(**dict(data))
        except ConfigError as exc:
            raise exc.with_source(source) from None

    def with_overrides(
        self, overrides: Mapping[str, Any], *, source: str = "<overrides>"
    ) -> ApiConfig:
        """A copy with some keys replaced (``limits`` is merged key by key).

        Raises:
            ConfigError: as :meth:`from_mapping`, naming ``source``.
        """
        try:
            if not isinstance(overrides, Mapping):
                raise _bad("(top level)", overrides, "must be a mapping of config keys")
            _check_keys(overrides, [f.name for f in fields(self)])
            changes = dict(overrides)
            if "limits" in changes:
                changes["limits"] = Limits.from_mapping(changes["limits"], base=self.limits)
            return replace(self, **changes)
        except ConfigError as exc:
            raise exc.with_source(source) from None

    def to_mapping(self) -> dict[str, Any]:
        """The config as YAML/JSON-ready data (durations written as ``10m``)."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update({key: format_duration(out[key]) for key in _DURATIONS})
        out["limits"] = self.limits.to_mapping()
        out["authorizer"] = None if self.authorizer is None else self.authorizer.to_mapping()
        out["routes"] = dict(self.routes or {})
        out["two_way_routes"] = list(self.two_way_routes or ())
        out["rest"] = dict(self.rest or {})
        return out

    @cached_property
    def selector(self) -> RouteSelector:
        """The parsed route selection expression."""
        return RouteSelector.parse(self.route_selection_expression)


def _routes(routes: object) -> dict[str, str]:
    if not isinstance(routes, Mapping):
        raise _bad("routes", routes, "must be a mapping of route key to handler")
    for key in routes:
        if not isinstance(key, str) or not _ROUTE_KEY.match(key):
            raise _bad("routes", key, "route keys are 1-128 non-blank chars")
        if key.startswith("$") and key not in _RESERVED_ROUTES:
            raise _bad(
                f"routes.{key}", key, "only $connect, $disconnect and $default may start with '$'"
            )
    return {key: _handler(f"routes.{key}", spec) for key, spec in routes.items()}


def _rest(rest: object) -> dict[str, str]:
    if not isinstance(rest, Mapping):
        raise _bad("rest", rest, 'must be a mapping like {"POST /query": handler}')
    for key in rest:
        match = _REST_KEY.match(key) if isinstance(key, str) else None
        if match is None:
            raise _bad("rest", key, 'keys are "METHOD /path", e.g. "POST /query"')
        segments = [s for s in match.group(2).split("/") if s]
        for i, segment in enumerate(segments):
            braced = "{" in segment or "}" in segment
            if braced and (
                not _REST_PARAM.match(segment) or (segment.endswith("+}") and i < len(segments) - 1)
            ):
                raise _bad(
                    "rest", key, "path parameters are whole segments {name}, or a last {name+}"
                )
    return {key: _handler(f"rest.{key}", spec) for key, spec in rest.items()}


def _two_way(two_way: object, routes: Mapping[str, str]) -> tuple[str, ...]:
    if not isinstance(two_way, list | tuple | set | frozenset):
        raise _bad("two_way_routes", two_way, "must be a list of route keys")
    for key in two_way:
        if not isinstance(key, str) or key not in routes or key in ("$connect", "$disconnect"):
            raise _bad("two_way_routes", key, "is not a message route of this API")
    return tuple(two_way)


def load_config(path: str | Path) -> ApiConfig:
    """Read and validate a YAML API config.

    Raises:
        ConfigError: the file cannot be read or parsed, or a key is bad; names the file.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, "(file)", source, exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, "(file)", source, f"not UTF-8 text: {exc.reason}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        raise ConfigError(source, where, getattr(exc, "problem", None), "not valid YAML") from None
    return ApiConfig.from_mapping(data, source=source)
