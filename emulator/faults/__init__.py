"""Gateway faults: ways API Gateway misbehaves that no TCP proxy can imitate (design §5).

One module per fault, each a small dataclass of its wire parameters that registers itself under
its snake_case wire name (:func:`register`). A fault needs nothing but its parameters; a fault that
must act on live connections when it starts and ends implements the optional
:class:`ActivatedFault` capability. :class:`FaultSet` holds the active faults of one gateway,
removes those added with ``for`` when their (scaled) time is up, and answers the gateway's questions
("is this reply dropped?"): the gateway never looks at fault types itself.

Wire format (the control API): ``{"type": "delay_replies", "route": "ping", "delay": "2s",
"for": "30s"}``. Durations are scaled by the server's time scale like every configured duration.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol, runtime_checkable

from emulator.exceptions import EmulatorError
from emulator.timing import TimeScale, format_duration, parse_duration

__all__ = [
    "REGISTRY",
    "ActivatedFault",
    "ActiveFault",
    "Fault",
    "FaultError",
    "FaultSet",
    "connection_id_param",
    "delay_param",
    "matches",
    "parse_fault",
    "register",
    "route_param",
]


class FaultError(EmulatorError, ValueError):
    """A fault request that does not validate; the message names the parameter and value."""


class Fault:
    """Base of every fault: a dataclass of wire parameters (see the subclasses' docstrings)."""

    wire_name: ClassVar[str] = ""

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Fault:
        """Validate wire parameters into a fault.

        Raises:
            FaultError: an unknown parameter or a bad value.
        """
        known = {_wire(f.name) for f in fields(cls) if f.init}  # type: ignore[arg-type]
        for key in params:
            if key not in known:
                raise FaultError(
                    f"{cls.wire_name}: unknown parameter {key!r} "
                    f"(known: {', '.join(sorted(known)) or 'none'})"
                )
        try:
            return cls(**{_ATTRS.get(k, k): v for k, v in params.items()})
        except TypeError as exc:  # a required parameter is missing
            raise FaultError(f"{cls.wire_name}: {exc}") from None

    def to_wire(self) -> dict[str, Any]:
        """The fault's parameters as the control API shows them."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None or not f.init:
                continue
            out[_wire(f.name)] = format_duration(value) if f.name in _DURATIONS else value
        return out

    # Questions the gateway asks; a fault overrides those it is about.
    def rejects_with(self) -> int | None:
        """An HTTP status for new handshakes, or None."""
        return None

    def drops_reply(self, route: str | None) -> bool:
        """Whether a reply on ``route`` (None: no route matched) is never sent."""
        return False

    def reply_delay(self, route: str | None) -> float:
        """Configured seconds (unscaled) to hold a reply on ``route``."""
        return 0.0

    def stall(self, route: str | None) -> float:
        """Configured seconds (unscaled) to hold an integration of ``route`` before it runs."""
        return 0.0

    def is_gone(self, connection_id: str) -> bool:
        """Whether the @connections API answers 410 for this live connection."""
        return False


@runtime_checkable
class ActivatedFault(Protocol):
    """Optional capability: a fault that acts on live connections when it starts and ends."""

    def activate(self, gateway: Any) -> None:
        """Apply to ``gateway``; raise FaultError if it cannot apply."""

    def deactivate(self, gateway: Any) -> None:
        """Undo :meth:`activate` for whatever is still there."""


REGISTRY: dict[str, type[Fault]] = {}


def register(cls: type[Fault]) -> type[Fault]:
    """Class decorator: make a fault available under its ``wire_name``."""
    REGISTRY[cls.wire_name] = cls
    return cls


# Wire names that are not the attribute's name (the control API speaks AWS's camelCase).
_ATTRS = {"connectionId": "connection_id"}
_WIRE = {attr: wire for wire, attr in _ATTRS.items()}
# Attributes held in seconds and shown as durations ("2s").
_DURATIONS = frozenset({"delay"})


def _wire(attr: str) -> str:
    return _WIRE.get(attr, attr)


def route_param(fault: str, value: object) -> str | None:
    """Validate an optional ``route`` parameter."""
    if value is not None and (not isinstance(value, str) or not value):
        raise FaultError(f"{fault}: route: {value!r}: must be a route key")
    return value


def connection_id_param(fault: str, value: object) -> str | None:
    """Validate an optional ``connectionId`` parameter."""
    if value is not None and not isinstance(value, str):
        raise FaultError(f"{fault}: connectionId: {value!r}: not a string")
    return value


def delay_param(fault: str, value: object) -> float:
    """Validate a ``delay`` duration (seconds, unscaled)."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise FaultError(f"{fault}: delay: {exc}") from None


def matches(route: str | None, wanted: str | None) -> bool:
    """Whether a fault for ``wanted`` (None = every route) applies to ``route``."""
    return wanted is None or route == wanted


def parse_fault(data: object) -> tuple[Fault, float | None]:
    """A control-API fault request: the fault and its ``for`` in configured seconds (or None).

    Raises:
        FaultError: not an object, no or unknown ``type``, bad parameters or ``for``.
    """
    if not isinstance(data, Mapping):
        raise FaultError("a fault is a JSON object with a 'type'")
    params = dict(data)
    kind = params.pop("type", None)
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise FaultError(
            f"type: {kind!r}: unknown fault type (known: {', '.join(sorted(REGISTRY))})"
        )
    duration = None
    if "for" in params:
        raw = params.pop("for")
        try:
            duration = parse_duration(raw)
        except ValueError as exc:
            raise FaultError(f"for: {exc}") from None
    return REGISTRY[kind].from_params(params), duration


@dataclass
class ActiveFault:
    """A fault in a :class:`FaultSet`.

    Attributes:
        fault_id: its id in the control API.
        fault: the fault.
        duration: its ``for`` in configured seconds, or None (until removed).
        expires_at: loop time it ends, or None.
        handle: the timer that ends it, or None.
    """

    fault_id: str
    fault: Fault
    duration: float | None
    expires_at: float | None
    handle: asyncio.TimerHandle | None = None

    def to_wire(self, now: float) -> dict[str, Any]:
        """The fault as the control API shows it; ``now`` is the loop time."""
        out = {"id": self.fault_id, "type": self.fault.wire_name, **self.fault.to_wire()}
        if self.duration is not None:
            out["for"] = format_duration(self.duration)
            out["remaining_ms"] = max(0, round(((self.expires_at or now) - now) * 1000))
        return out


class FaultSet:
    """The active faults of one gateway.

    Args:
        gateway: passed to :class:`ActivatedFault` hooks.
        time_scale: scales ``for`` and the faults' delays.
        loop: schedules the end of faults added with ``for``.
    """

    def __init__(self, gateway: Any, time_scale: TimeScale, loop: Callable[[], Any]) -> None:
        self._gateway = gateway
        self._scale = time_scale
        self._loop = loop
        self._faults: dict[str, ActiveFault] = {}
        self._active = False
        self._counter = itertools.count(1)

    @property
    def active(self) -> bool:
        """Whether any fault is active (checked on every message, so a plain attribute read)."""
        return self._active

    def add(self, fault: Fault, duration: float | None = None) -> ActiveFault:
        """Start a fault, for ``duration`` configured seconds or until removed.

        Raises:
            FaultError: an activated fault cannot apply (e.g. an unknown connection).
        """
        if isinstance(fault, ActivatedFault):
            fault.activate(self._gateway)
        fault_id = f"{fault.wire_name}-{next(self._counter)}"
        entry = ActiveFault(fault_id, fault, duration, None)
        if duration is not None:
            loop = self._loop()
            real = self._scale.duration(duration)
            entry.expires_at = loop.time() + real
            entry.handle = loop.call_later(real, self.remove, fault_id)
        self._faults[fault_id] = entry
        self._active = True
        return entry

    def remove(self, fault_id: str) -> bool:
        """End a fault; False if there is no such fault."""
        entry = self._faults.pop(fault_id, None)
        if entry is None:
            return False
        self._active = bool(self._faults)
        if entry.handle is not None:
            entry.handle.cancel()
        if isinstance(entry.fault, ActivatedFault):
            entry.fault.deactivate(self._gateway)
        return True

    def clear(self) -> list[str]:
        """End every fault; returns the ids ended."""
        ids = list(self._faults)
        for fault_id in ids:
            self.remove(fault_id)
        return ids

    def to_wire(self) -> list[dict[str, Any]]:
        """The active faults as ``GET /_wschaos/faults`` lists them."""
        now = self._loop().time()
        return [entry.to_wire(now) for entry in self._faults.values()]

    # -- the gateway's questions (scaled to real seconds) ------------------------------------------

    def reject_status(self) -> int | None:
        """The status new handshakes get (the latest reject fault's), or None."""
        status = None
        for entry in self._faults.values():
            status = entry.fault.rejects_with() or status
        return status

    def drops_reply(self, route: str | None) -> bool:
        """Whether a reply on ``route`` is dropped."""
        return any(entry.fault.drops_reply(route) for entry in self._faults.values())

    def reply_delay(self, route: str | None) -> float:
        """Real seconds to hold a reply on ``route``."""
        return self._scale.duration(
            max((e.fault.reply_delay(route) for e in self._faults.values()), default=0.0)
        )

    def stall(self, route: str | None) -> float:
        """Real seconds to hold an integration of ``route``."""
        return self._scale.duration(
            max((e.fault.stall(route) for e in self._faults.values()), default=0.0)
        )

    def is_gone(self, connection_id: str) -> bool:
        """Whether @connections calls for this live connection get 410."""
        return any(entry.fault.is_gone(connection_id) for entry in self._faults.values())


# Import the fault modules so they register (kept last: they import this package).
from emulator.faults import (  # noqa: E402
    delay_replies,
    drop_replies,
    gone,
    reject_connections,
    silent_disconnect,
    stall_integrations,
)

del delay_replies, drop_replies, gone, reject_connections, silent_disconnect, stall_integrations
