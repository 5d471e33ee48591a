"""``silent_disconnect {connectionId?}``: the gateway stops delivering to and from a connection
without closing it, so the client holds a half-open socket.

It applies to the given connection, or to every connection open when the fault starts (not to
later ones, so a client that notices can reconnect). While silent, messages and pings from the
client are ignored (no pong) and nothing is sent to it, though @connections posts still answer
200 (the gateway believes the connection is fine). Ending the fault restores delivery to those
connections still open that no other ``silent_disconnect`` still holds (the gateway counts holds,
so overlapping faults can end in any order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.faults import Fault, FaultError, connection_id_param, register


@register
@dataclass(frozen=True)
class SilentDisconnect(Fault):
    """Hold ``connection_id`` (None: every open connection) half-open."""

    wire_name = "silent_disconnect"

    connection_id: str | None = None  # wire: connectionId
    _targets: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        connection_id_param(self.wire_name, self.connection_id)

    def to_wire(self) -> dict[str, Any]:
        out = super().to_wire()
        out["connections"] = sorted(self._targets)
        return out

    def activate(self, gateway: Any) -> None:
        if self.connection_id is None:
            targets = gateway.open_connection_ids()
        elif self.connection_id in gateway.open_connection_ids():
            targets = [self.connection_id]
        else:
            raise FaultError(
                f"{self.wire_name}: connectionId: {self.connection_id!r}: no such open connection"
            )
        self._targets.update(targets)
        gateway.hold_silent(self._targets)

    def deactivate(self, gateway: Any) -> None:
        gateway.release_silent(self._targets)
