"""``latency``: every chunk leaves ``latency`` ± ``jitter`` ms after the proxy read it.

Delays are measured from the chunk's read time, so chunks queued behind a delayed one are
pipelined (throughput is not limited), a chunk never leaves before its predecessor, and stacked
latency toxics add up: each advances the chunk's timestamp to when it was due.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chaos.toxiproxy.stub import Interrupted
from chaos.toxiproxy.toxics.base import Toxic, attribute, register

if TYPE_CHECKING:
    from chaos.toxiproxy.stub import ToxicStub

__all__ = ["LatencyToxic", "delay_ms"]


def delay_ms(latency: int, jitter: int, rng: random.Random) -> int:
    """One chunk's delay in ms: ``latency`` plus a uniform integer in ``[-jitter, jitter)``.

    A jitter <= 0 adds nothing; a negative result means no delay.
    """
    if jitter > 0:
        return latency + rng.randrange(jitter * 2) - jitter
    return latency


@register("latency", "LatencyToxic")
@dataclass
class LatencyToxic(Toxic):
    """Attributes: ``latency`` ms, ``jitter`` ms."""

    latency: int = attribute("int64", unit="ms")
    jitter: int = attribute("int64", unit="ms")

    async def pipe(self, stub: ToxicStub) -> None:
        while True:
            chunk = await stub.recv()
            if chunk is None:
                stub.close()
                return
            due = chunk.timestamp + delay_ms(self.latency, self.jitter, stub.rng) / 1000
            try:
                await stub.sleep_until(due)
            except Interrupted:
                stub.send(chunk)  # released at once, never dropped
                raise
            chunk.timestamp = max(due, chunk.timestamp)
            stub.send(chunk)
