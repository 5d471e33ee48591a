"""Durations and the time scale shared by the emulator, the client's harness and the runner.

Durations are written ``250ms``, ``30s``, ``10m``, ``2h`` or as a bare number of seconds.
A :class:`TimeScale` of N divides every configured duration of a run by N, so 15 idle minutes at
N=600 take 1.5 s. Processing budgets (integration timeout, pong deadline, query deadline, open
timeout, ``within``) additionally get a real-time floor of :data:`BUDGET_FLOOR` seconds after
scaling, so a loaded machine never fakes a timeout.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["BUDGET_FLOOR", "TimeScale", "format_duration", "parse_duration"]

#: Real-time floor, in seconds, of every scaled processing budget.
BUDGET_FLOOR = 0.25

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(value: object) -> float:
    """Return ``value`` in seconds.

    Accepts a non-negative int or float (seconds) or a string such as ``"250ms"``, ``"30s"``,
    ``"10m"``, ``"2h"`` or ``"1.5"``.

    Raises:
        ValueError: the value is not a duration; the message quotes it.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} (use e.g. 250ms, 30s, 10m, 2h)")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"not a duration: {value!r} (use e.g. 250ms, 30s, 10m, 2h)")
    if seconds < 0 or not math.isfinite(seconds):
        raise ValueError(f"not a duration: {value!r} (must be finite and not negative)")
    return seconds


def format_duration(seconds: float) -> str:
    """Render seconds the way users write them: ``250ms``, ``30s``, ``10m``, ``2h``."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    if seconds >= 1:
        return f"{seconds:g}s"
    return f"{seconds * 1000:g}ms"


@dataclass(frozen=True)
class TimeScale:
    """Compresses configured durations by ``factor`` (design §3).

    Attributes:
        factor: how many times faster than real time configured durations pass; 1 = real time.
    """

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not (isinstance(self.factor, int | float) and math.isfinite(self.factor)) or (
            self.factor <= 0
        ):
            raise ValueError(f"time scale must be a positive number, got {self.factor!r}")

    def duration(self, seconds: float) -> float:
        """A configured duration (timeout, interval, idle, wait) in real seconds."""
        return seconds / self.factor

    def budget(self, seconds: float) -> float:
        """A processing budget in real seconds: scaled, but never below :data:`BUDGET_FLOOR`.

        The floor never stretches a budget past its configured value (a 100 ms budget stays 100 ms).
        """
        return max(seconds / self.factor, min(seconds, BUDGET_FLOOR))
