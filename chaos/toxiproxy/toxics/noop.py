"""``noop``: passes every chunk through unchanged (also what a stage runs when toxicity misses)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.toxics.base import Toxic, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["NoopToxic"]


@register("noop", "NoopToxic")
@dataclass
class NoopToxic(Toxic):
    """No attributes; a pass-through."""

    async def pipe(self, stub: ToxicStub) -> None:
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            stub.send(chunk)
