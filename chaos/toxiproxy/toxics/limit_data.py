"""``limit_data``: forwards ``bytes`` bytes per connection and direction, then closes (FIN).

The chunk crossing the limit is truncated; reaching the limit exactly closes right after sending.
``bytes: 0`` closes on the first data chunk with nothing forwarded. The count lives with the
connection, so an update keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.stream import Chunk
from chaos.toxiproxy.toxics.base import Toxic, attribute, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["LimitDataState", "LimitDataToxic"]


class LimitDataState:
    """Bytes already forwarded on one connection and direction."""

    __slots__ = ("transmitted",)

    def __init__(self) -> None:
        self.transmitted = 0


@register("limit_data", "LimitDataToxic")
@dataclass
class LimitDataToxic(Toxic):
    """Attributes: ``bytes`` to forward before closing."""

    bytes: int = attribute("int64", unit="bytes")

    def new_state(self) -> LimitDataState:
        return LimitDataState()

    async def pipe(self, stub: ToxicStub) -> None:
        state = stub.state
        assert isinstance(state, LimitDataState)
        remaining = self.bytes - state.transmitted
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            remaining = max(remaining, 0)
            if remaining < len(chunk.data):
                chunk = Chunk(chunk.data[:remaining], chunk.timestamp)
            if chunk.data:
                stub.send(chunk)
                state.transmitted += len(chunk.data)
            remaining = self.bytes - state.transmitted
            if remaining <= 0:
                stub.close()
                return
