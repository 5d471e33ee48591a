"""Reconnect backoff: exponential with full jitter, drawn from an injected random source.

"Full jitter" (delay uniform in ``[0, min(cap, base * 2**(n-1))]``) spreads a crowd of clients that
lost their connections at the same moment (a deploy, a cut) over the whole window instead of
letting them retry in lock-step. A throttled attempt (HTTP 429) backs off longer: the window grows
two more doublings and the delay is drawn from its upper half, so it is never close to zero.

Delays are configured seconds; the shell applies the time scale when it sleeps.
"""

from __future__ import annotations

import random
from typing import Protocol

__all__ = ["Backoff", "FullJitterBackoff"]


class Backoff(Protocol):
    """A delay policy the state machine asks after each failed attempt."""

    def delay(self, attempt: int, *, longer: bool = False) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) failed.

        Args:
            attempt: the number of the attempt that just failed, starting at 1.
            longer: the failure asks for a longer backoff (throttling).
        """
        ...


class FullJitterBackoff:
    """Exponential backoff with full jitter.

    Args:
        base: seconds; the window after the first failure is ``[0, base]``, doubling each time.
        cap: seconds; the window never grows past it.
        rng: the random source (``random.Random(seed)`` makes delays reproducible); None = a fresh
            unseeded one.
    """

    def __init__(self, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng if rng is not None else random.Random()

    def window(self, attempt: int, *, longer: bool = False) -> float:
        """The upper end, in seconds, of the window the delay is drawn from."""
        doublings = attempt - 1 + (2 if longer else 0)
        # min() before the power would overflow for absurd attempt counts; cap the exponent.
        return min(self.cap, self.base * 2.0 ** min(doublings, 64))

    def delay(self, attempt: int, *, longer: bool = False) -> float:
        """See :meth:`Backoff.delay`."""
        if attempt < 1:
            raise ValueError(f"attempt must be at least 1, got {attempt}")
        ceiling = self.window(attempt, longer=longer)
        low = ceiling / 2 if longer else 0.0
        return self.rng.uniform(low, ceiling)
