"""The client's options: validated at construction, converted to real time once.

Time (design §3): ``time_scale`` N divides configured durations. ``heartbeat_interval`` and the
backoff are *durations*: they stand for time passing and are simply divided by N. ``pong_timeout``,
``query_timeout``, ``open_timeout`` and ``fallback_after`` are *processing budgets*: they bound real
I/O (a round trip, a handshake, a back end answering) that the scale cannot compress, so after
scaling they keep a real-time floor of 250 ms (``TimeScale.budget``). ``fallback_after`` is a
budget because what it waits for is a connection attempt: at N=600 a plain division would turn
5 s into 8 ms, shorter than a loopback handshake under load, and every lazy reconnect would be
reported as a REST fallback.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

from prometheus_client import CollectorRegistry
from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri

from client.errors import InvalidOptions
from emulator.timing import TimeScale

__all__ = ["ClientOptions"]


@dataclass(frozen=True)
class ClientOptions:
    """Every option of :class:`~client.ResilientWebSocketClient`; see its docstring.

    Raises:
        InvalidOptions: an option is invalid; the message names it and its value.
    """

    url: str
    rest_url: str | None = None
    heartbeat_interval: float | None = 30.0
    pong_timeout: float | None = 10.0
    max_reconnect_attempts: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 10.0
    query_timeout: float = 30.0
    fallback_after: float = 5.0
    open_timeout: float = 10.0
    time_scale: float = 1.0
    rng: random.Random | None = None
    registry: CollectorRegistry | None = None

    def __post_init__(self) -> None:
        _check_ws_url(self.url)
        if self.rest_url is not None:
            _check_http_url(self.rest_url)
        _seconds("heartbeat_interval", self.heartbeat_interval, optional=True)
        _seconds("pong_timeout", self.pong_timeout, optional=True)
        if (
            not isinstance(self.max_reconnect_attempts, int)
            or isinstance(self.max_reconnect_attempts, bool)
            or self.max_reconnect_attempts < 1
        ):
            raise InvalidOptions(
                "max_reconnect_attempts", self.max_reconnect_attempts, "must be an integer >= 1"
            )
        _seconds("backoff_base", self.backoff_base, zero=True)
        _seconds("backoff_max", self.backoff_max, zero=True)
        _seconds("query_timeout", self.query_timeout)
        _seconds("fallback_after", self.fallback_after, zero=True)
        _seconds("open_timeout", self.open_timeout)
        _seconds("time_scale", self.time_scale)
        if self.rng is not None and not callable(getattr(self.rng, "uniform", None)):
            raise InvalidOptions("rng", self.rng, "must be a random.Random (or have uniform())")
        if self.registry is not None and not isinstance(self.registry, CollectorRegistry):
            raise InvalidOptions("registry", self.registry, "must be a CollectorRegistry")

    @cached_property
    def scale(self) -> TimeScale:
        """The time scale of design §3."""
        return TimeScale(self.time_scale)

    @cached_property
    def heartbeat_seconds(self) -> float | None:
        """Real seconds between heartbeats (a duration); None = no heartbeat."""
        if self.heartbeat_interval is None:
            return None
        return self.scale.duration(self.heartbeat_interval)

    @cached_property
    def pong_budget(self) -> float | None:
        """Real seconds a pong may take (a budget); None = not checked."""
        return None if self.pong_timeout is None else self.scale.budget(self.pong_timeout)

    @cached_property
    def query_budget(self) -> float:
        """Real seconds a query's result may take on each transport (a budget)."""
        return self.scale.budget(self.query_timeout)

    @cached_property
    def fallback_budget(self) -> float:
        """Real seconds a query waits for a connection before going over REST (a budget)."""
        return self.scale.budget(self.fallback_after)

    @cached_property
    def open_budget(self) -> float:
        """Real seconds an opening (or closing) handshake may take (a budget)."""
        return self.scale.budget(self.open_timeout)


def _seconds(name: str, value: object, *, optional: bool = False, zero: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        kind = "a number of seconds or None" if optional else "a number of seconds"
        raise InvalidOptions(name, value, f"must be {kind}")
    if value < 0 or (value == 0 and not zero):
        raise InvalidOptions(name, value, "must be >= 0" if zero else "must be > 0")


def _check_ws_url(url: object) -> None:
    if not isinstance(url, str):
        raise InvalidOptions("url", url, "must be a ws:// or wss:// URL string")
    try:
        parse_uri(url)
    except (InvalidURI, ValueError) as exc:
        raise InvalidOptions("url", url, "must be a ws:// or wss:// URL with a host") from exc


def _check_http_url(url: object) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidOptions("rest_url", url, "must be an http:// or https:// URL with a host")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidOptions("rest_url", url, "has an invalid port") from exc
