"""``gone {connectionId?}``: the @connections API answers 410 for a live connection.

None = every connection. Posts from handlers (``context.post_to_connection``) get the same
``GoneException``; the socket itself stays open.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.faults import Fault, FaultError, register


@register
@dataclass(frozen=True)
class Gone(Fault):
    wire_name = "gone"

    connection_id: str | None = None  # wire: connectionId

    def __post_init__(self) -> None:
        if self.connection_id is not None and not isinstance(self.connection_id, str):
            raise FaultError(
                f"{self.wire_name}: connectionId: {self.connection_id!r}: not a string"
            )

    def is_gone(self, connection_id: str) -> bool:
        return self.connection_id is None or connection_id == self.connection_id
