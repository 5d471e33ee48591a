"""``reset_peer``: on the first chunk (data or end of stream) after it starts, drops it, waits
``timeout`` ms, then closes the connection.

If the toxic is already in the chain when a connection opens, both sockets get ``SO_LINGER(1, 0)``,
so the close is a TCP RST (the client's read fails with ``ECONNRESET``). Added to an open connection
it closes with a plain FIN. The wait cannot be interrupted: removing the toxic after it fired waits
it out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.toxics.base import Toxic, attribute, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["ResetPeerToxic"]


@register("reset_peer", "ResetToxic")
@dataclass
class ResetPeerToxic(Toxic):
    """Attributes: ``timeout`` ms between the first chunk and the reset."""

    timeout: int = attribute("int64", unit="ms")

    async def pipe(self, stub: ToxicStub) -> None:
        await stub.recv()  # the first chunk, or the end of the stream; dropped either way
        if self.timeout > 0:
            await asyncio.sleep(self.timeout / 1000)  # deliberately not interruptible
        stub.close()

    def resets_connection(self) -> bool:
        return True
