"""``slicer``: cuts each chunk into pieces of about ``average_size`` bytes (± ``size_variation``),
sent in order with ``delay`` µs after each piece.

A chunk is halved recursively (the midpoint moved by a random offset within the variation) until
every piece is at most ``average_size + size_variation`` bytes; with average 1 and variation 0, 24
bytes become exactly 24 one-byte writes. An interruption sends the rest of the chunk unsliced.
``average_size`` must be at least 1 and ``size_variation`` in ``[0, average_size)``: outside that,
Toxiproxy's recursion never ends or cuts outside the chunk, and its server crashes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.stream import Chunk
from chaos.toxiproxy.stub import Interrupted
from chaos.toxiproxy.toxics.base import Toxic, attribute, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["SlicerToxic", "slice_bounds"]


def slice_bounds(
    size: int, average: int, variation: int, rng: random.Random
) -> list[tuple[int, int]]:
    """The ``(start, end)`` offsets of the pieces of a ``size``-byte chunk, in order.

    Requires ``average >= 1`` and ``0 <= variation < average`` (else it may never terminate).
    """
    pieces: list[tuple[int, int]] = []

    def cut(start: int, end: int) -> None:
        if (end - start) - average <= variation:
            pieces.append((start, end))
            return
        middle = start + (end - start) // 2
        if variation > 0:
            middle += rng.randrange(variation * 2) - variation
        cut(start, middle)
        cut(middle, end)

    cut(0, size)
    return pieces


@register("slicer", "SlicerToxic")
@dataclass
class SlicerToxic(Toxic):
    """Attributes: ``average_size`` bytes, ``size_variation`` bytes, ``delay`` µs per piece."""

    average_size: int = attribute("int", unit="bytes")
    size_variation: int = attribute("int", unit="bytes")
    delay: int = attribute("int", unit="µs")

    def validate(self) -> str | None:
        if self.average_size < 1:
            return f"attributes.average_size: {self.average_size}: must be at least 1"
        if self.size_variation < 0:
            return f"attributes.size_variation: {self.size_variation}: must not be negative"
        if self.size_variation >= self.average_size:
            return (
                f"attributes.size_variation: {self.size_variation}: "
                f"must be less than average_size ({self.average_size})"
            )
        return None

    async def pipe(self, stub: ToxicStub) -> None:
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            data = chunk.data
            for start, end in slice_bounds(
                len(data), self.average_size, self.size_variation, stub.rng
            ):
                stub.send(Chunk(data[start:end], chunk.timestamp))
                try:
                    await stub.sleep(self.delay / 1_000_000)
                except Interrupted:
                    stub.send(Chunk(data[end:], chunk.timestamp))
                    raise
