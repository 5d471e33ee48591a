"""The idle timeout and the connection-duration limit (spec §3, §4).

API Gateway closes a connection with 1001 "Going away" after 10 minutes without a data message in
either direction, and after 2 hours whatever the traffic. :func:`due` is that rule, without I/O.
:class:`Reaper` applies it with one :class:`asyncio.TimerHandle` per open connection, set for the
earlier of its two deadlines. Activity only moves ``Connection.last_active`` (no timer work per
message); a handle that fires before the moved deadline re-arms itself for the new one. 5,000 idle
connections therefore cost 5,000 timer handles and nothing else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from emulator.models import Connection, ConnectionState

__all__ = ["IDLE_TIMEOUT", "MAX_DURATION", "Reaper", "due"]

#: The ``reason`` labels of ``wschaos_gateway_disconnects_total`` for the two limits.
IDLE_TIMEOUT = "idle_timeout"
MAX_DURATION = "max_duration"

# A timer may fire a hair early (clock resolution); a deadline this close counts as reached.
_SLACK = 0.001


def due(conn: Connection, now: float, idle: float, max_duration: float) -> str | None:
    """Which limit ``conn`` has reached at loop time ``now``, if any.

    Args:
        conn: an open connection (``opened_at`` and ``last_active`` are loop times, seconds).
        now: the loop time, seconds.
        idle: the idle timeout, real seconds (already scaled).
        max_duration: the connection-duration limit, real seconds (already scaled).

    Returns:
        :data:`MAX_DURATION` (checked first: it wins when both are due), :data:`IDLE_TIMEOUT`,
        or None when neither deadline has passed.
    """
    now += _SLACK
    if now >= conn.opened_at + max_duration:
        return MAX_DURATION
    if now >= conn.last_active + idle:
        return IDLE_TIMEOUT
    return None


class Reaper:
    """Closes connections that reach the idle timeout or the duration limit.

    Args:
        loop: returns the gateway's event loop (bound lazily by the gateway).
        expire: called on the loop with the connection and :data:`IDLE_TIMEOUT` or
            :data:`MAX_DURATION` when one of its deadlines passes; it must close the connection.
    """

    def __init__(
        self,
        loop: Callable[[], asyncio.AbstractEventLoop],
        expire: Callable[[Connection, str], None],
    ) -> None:
        self._loop = loop
        self._expire = expire
        self.idle = 600.0
        self.max_duration = 7200.0

    def set_limits(self, idle: float, max_duration: float) -> None:
        """Set both limits, in real seconds (already scaled). Re-arm live connections after it."""
        self.idle = idle
        self.max_duration = max_duration

    def arm(self, conn: Connection) -> None:
        """(Re)start the timer of an open connection for its earlier deadline."""
        if conn.timer is not None:
            conn.timer.cancel()
        deadline = min(conn.last_active + self.idle, conn.opened_at + self.max_duration)
        conn.timer = self._loop().call_at(deadline, self._fire, conn)

    def disarm(self, conn: Connection) -> None:
        """Stop a connection's timer (it closed)."""
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None

    def _fire(self, conn: Connection) -> None:
        conn.timer = None
        if conn.state is not ConnectionState.OPEN:
            return
        cause = due(conn, self._loop().time(), self.idle, self.max_duration)
        if cause is None:
            self.arm(conn)  # activity moved the idle deadline since the timer was set
        else:
            self._expire(conn, cause)
