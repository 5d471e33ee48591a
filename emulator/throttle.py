"""The new-connection rate limit, without I/O (spec §3).

API Gateway accepts 500 new connections per second per account and region and rejects the rest of
the handshakes with HTTP 429. :class:`TokenBucket` models that: ``rate`` tokens a second, at most
one second's worth banked (never less than one token, so a rate below 1/s still lets a handshake
through now and then), one token per handshake.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """Handshakes per second with a one-second burst.

    Args:
        rate: tokens per second; None = unlimited.
        clock: monotonic seconds (injectable for tests).
    """

    __slots__ = ("_clock", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rate = rate
        self._tokens = self._burst()
        self._stamp = clock()

    @property
    def rate(self) -> float | None:
        """Tokens per second; None = unlimited."""
        return self._rate

    def _burst(self) -> float:
        return 0.0 if self._rate is None else max(1.0, float(self._rate))

    def set_rate(self, rate: float | None) -> None:
        """Change the rate (a config patch); tokens banked so far stay, up to the new burst.

        Coming from unlimited, the bucket starts full: the limit applies from now on.
        """
        if self._rate is None:
            self._rate = rate
            self._tokens = self._burst()
            self._stamp = self._clock()
            return
        self._refill()
        self._rate = rate
        self._tokens = min(self._tokens, self._burst())

    def _refill(self) -> None:
        now = self._clock()
        if self._rate is not None:
            self._tokens = min(self._burst(), self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def take(self) -> bool:
        """Spend a token for one handshake: False means reject it with 429."""
        if self._rate is None:
            return True
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
