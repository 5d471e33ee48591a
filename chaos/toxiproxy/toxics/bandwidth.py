"""``bandwidth``: limits a stream to ``rate`` KB/s, with KB = 1000 bytes (so ``rate`` is bytes/ms).

Each chunk costs ``len / rate`` ms, with the sleep error carried to the next chunk. A chunk
larger than ``rate * 100`` bytes leaves in ``rate * 100``-byte pieces every 100 ms. ``rate: 0`` (the
default) stalls the stream: data is held until the toxic is updated or removed (a "half-open" link).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.stream import Chunk
from chaos.toxiproxy.stub import Interrupted
from chaos.toxiproxy.toxics.base import Toxic, attribute, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["BandwidthToxic"]

#: Interval, in seconds, at which pieces of a large chunk (or nothing, at rate 0) are released.
PIECE_INTERVAL = 0.1


@register("bandwidth", "BandwidthToxic")
@dataclass
class BandwidthToxic(Toxic):
    """Attributes: ``rate`` KB/s (1 KB = 1000 bytes); 0 stalls the stream."""

    rate: int = attribute("int64", unit="KB/s")

    def validate(self) -> str | None:
        if self.rate < 0:
            return f"attributes.rate: {self.rate}: must not be negative"
        return None

    async def pipe(self, stub: ToxicStub) -> None:
        owed = 0.0  # seconds of sleep owed, carrying the timer error from chunk to chunk
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            rate = self.rate
            data = chunk.data
            if rate <= 0:
                owed = 0.0
            else:
                owed += len(data) / rate / 1000
            piece = rate * 100
            while len(data) > piece:
                try:
                    await stub.sleep(PIECE_INTERVAL)
                except Interrupted:
                    stub.send(Chunk(data, chunk.timestamp))
                    raise
                stub.send(Chunk(data[:piece], chunk.timestamp))
                data = data[piece:]
                owed -= PIECE_INTERVAL
            start = stub.now()
            try:
                await stub.sleep(owed)
            except Interrupted:
                stub.send(Chunk(data, chunk.timestamp))
                raise
            owed -= stub.now() - start
            stub.send(Chunk(data, chunk.timestamp))
