"""The gateway's view of one connection, without I/O.

A :class:`Connection` is what API Gateway keeps about a client: its id, identity, times, counters
and state. The socket stays in the aiohttp shell behind the small :class:`Channel` interface, so
the gateway's logic (:mod:`emulator.gateway`) never touches aiohttp.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Protocol

from emulator.events import ClientInfo

__all__ = ["Channel", "Connection", "ConnectionState", "iso_millis"]


class ConnectionState(IntEnum):
    """Where a connection is in its life."""

    CONNECTING = 0  # handshake held while $connect runs: @connections answers 410
    OPEN = 1
    CLOSING = 2  # the gateway sent (or is sending) its close
    CLOSED = 3


class Channel(Protocol):
    """The socket side of a connection, implemented by the aiohttp shell."""

    def send(self, text: str) -> Coroutine[Any, Any, None]:
        """A coroutine writing one text frame; it never raises for a socket that is going away."""

    def close(self, code: int, reason: str) -> Coroutine[Any, Any, None] | None:
        """Start a close handshake with ``code`` and ``reason``.

        Returns:
            The coroutine that completes it (sends the close frame, waits a bounded time for the
            client's, closes TCP), for the gateway to run as a task; None if already closing.
        """

    def drop(self) -> None:
        """Close TCP now, after what is already written (a close handshake that took too long)."""

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (the client sees 1006)."""


@dataclass(slots=True, eq=False)
class Connection:
    """A connection as the gateway sees it.

    Attributes:
        info: what the handshake told the gateway (id, identity, host, authorizer context).
        state: where the connection is in its life.
        opened_at: loop time (seconds) the connection opened; the max-duration clock.
        last_active: loop time of the last data message either way; the idle clock.
        messages_in: client messages received.
        messages_out: messages sent to the client (route responses and posts).
        silent_holds: how many ``silent_disconnect`` faults hold it half-open; it is silent
            while any does (see :attr:`silent`).
        channel: the socket, once open.
        close_code: the close code that ended it (sent or received); None while open.
        close_reason: the close reason that ended it.
        close_cause: the ``reason`` label of ``wschaos_gateway_disconnects_total``.
        timer: the pending idle/max-duration check (see :mod:`emulator.reaper`).
        in_flight: messages received whose integration (and reply) has not finished.
        drained: set when ``in_flight`` falls back after reading paused; None while reading.
    """

    info: ClientInfo
    state: ConnectionState = ConnectionState.CONNECTING
    opened_at: float = 0.0
    last_active: float = 0.0
    messages_in: int = 0
    messages_out: int = 0
    silent_holds: int = 0
    channel: Channel | None = None
    close_code: int | None = None
    close_reason: str = ""
    close_cause: str | None = None
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    in_flight: int = 0
    drained: asyncio.Event | None = field(default=None, repr=False)

    @property
    def connection_id(self) -> str:
        """The connection's id (``requestContext.connectionId``)."""
        return self.info.connection_id

    @property
    def silent(self) -> bool:
        """Whether a ``silent_disconnect`` fault holds the connection half-open."""
        return self.silent_holds > 0


def iso_millis(epoch_ms: int) -> str:
    """``2020-04-30T20:10:33.236Z``: the GetConnection timestamp format."""
    seconds, millis = divmod(epoch_ms, 1000)
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{millis:03d}Z"
    )
