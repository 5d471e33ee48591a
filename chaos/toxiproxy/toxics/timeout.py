"""``timeout``: drops all data; closes the connection after ``timeout`` ms without input.

The timer restarts at every chunk received (an idle timer: steady traffic keeps the connection
open). ``timeout`` 0 (or negative) never closes: data is dropped until the toxic is removed, and
removing it closes every connection it was on, since their streams are now missing bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.toxics.base import Toxic, attribute, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["TimeoutToxic"]


@register("timeout", "TimeoutToxic")
@dataclass
class TimeoutToxic(Toxic):
    """Attributes: ``timeout`` ms of silence before closing; 0 never closes."""

    timeout: int = attribute("int64", unit="ms")

    async def pipe(self, stub: ToxicStub) -> None:
        idle = self.timeout / 1000 if self.timeout > 0 else None
        while True:
            try:
                chunk = await stub.recv(timeout=idle)
            except TimeoutError:
                stub.close()
                return
            if chunk is None:
                stub.close()
                return
            # The chunk is dropped on the floor.

    def cleanup(self, stub: ToxicStub) -> None:
        """Removal closes the connection: bytes were dropped, the stream is corrupt."""
        stub.close()
