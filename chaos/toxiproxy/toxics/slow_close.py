"""``slow_close``: data passes untouched; the end of the stream is held back ``delay`` ms.

An interruption while the close is held ends the wait without closing: the end marker stays in the
stage's queue, so a removal forwards it at once (the connection closes now) and an update restarts
the stage, which waits the new ``delay`` from then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
            await stub.sleep(self.delay / 1000)  # an interruption propagates; nothing is held
            stub.close()
            return
