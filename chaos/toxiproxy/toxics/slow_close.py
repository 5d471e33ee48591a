"""``slow_close``: data passes untouched; the end of the stream is held back ``delay`` ms.

Interrupting the held close (an update or a removal) closes at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.stub import Interrupted
from chaos.toxiproxy.toxics.base import Toxic, attribute, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["SlowCloseToxic"]


@register("slow_close", "SlowCloseToxic")
@dataclass
class SlowCloseToxic(Toxic):
    """Attributes: ``delay`` ms before the close is passed on."""

    delay: int = attribute("int64", unit="ms")

    async def pipe(self, stub: ToxicStub) -> None:
        while True:
            chunk = await stub.recv()
            if chunk is not None:
                stub.send(chunk)
                continue
            try:
                await stub.sleep(self.delay / 1000)
            except Interrupted:
                stub.close()
                raise
            stub.close()
            return
