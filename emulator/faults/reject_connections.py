"""``reject_connections {status}``: new handshakes get HTTP 429, 500 or 503 instead of 101."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.faults import Fault, FaultError, register

STATUSES = (429, 500, 503)


@register
@dataclass(frozen=True)
class RejectConnections(Fault):
    """Answer new handshakes with ``status`` instead of 101."""

    wire_name = "reject_connections"

    status: int = 503  # HTTP status: 429, 500 or 503

    def __post_init__(self) -> None:
        if type(self.status) is not int or self.status not in STATUSES:
            raise FaultError(
                f"{self.wire_name}: status: {self.status!r}: must be one of {STATUSES}"
            )

    def rejects_with(self) -> int | None:
        return self.status
