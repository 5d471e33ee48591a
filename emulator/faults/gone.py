"""``gone {connectionId?}``: the @connections API answers 410 for a live connection.

None = every connection. Posts from handlers (``context.post_to_connection``) get the same
``GoneException``; the socket itself stays open.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.faults import Fault, connection_id_param, register


@register
@dataclass(frozen=True)
class Gone(Fault):
    """410 from @connections for ``connection_id`` (None: every connection)."""

    wire_name = "gone"

    connection_id: str | None = None  # wire: connectionId

    def __post_init__(self) -> None:
        connection_id_param(self.wire_name, self.connection_id)

    def is_gone(self, connection_id: str) -> bool:
        return self.connection_id is None or connection_id == self.connection_id
