"""The data a link carries: directions, chunks and the queues between toxic stages.

Each read from a socket (at most :data:`CHUNK_SIZE` bytes) becomes one :class:`Chunk` stamped with
the loop time of the read. Stages pass chunks along :class:`ChunkQueue` s in order; ``None`` in a
queue is the end of the stream, and it stays there once reached, as a closed Go channel keeps
answering ``nil``: a stage restarted after it saw the end sees it again (so ``slow_close``,
updated while it holds the close, waits its new delay as Toxiproxy's does).

Putting never blocks: back-pressure is applied at the source instead (the link stops reading its
socket while too many bytes wait in its queues), which keeps the order of bytes and lets an API
change rewire a chain without waiting on a full queue.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from typing import Protocol

__all__ = ["CHUNK_SIZE", "Backlog", "Chunk", "ChunkQueue", "Direction", "Output"]

#: Largest chunk, in bytes: Toxiproxy reads with Go's 32 KiB ``io.Copy`` buffer.
CHUNK_SIZE = 32 * 1024


class Direction(enum.IntEnum):
    """Which way a link carries data: ``upstream`` client->server, ``downstream`` server->client."""

    UPSTREAM = 0
    DOWNSTREAM = 1

    @property
    def wire_name(self) -> str:
        """The name on the wire: ``upstream`` or ``downstream``."""
        return self.name.lower()

    @classmethod
    def parse(cls, stream: str) -> Direction | None:
        """Parse ``stream`` case-insensitively (``"UpStream"`` is upstream); ``None`` if invalid."""
        lowered = stream.lower()
        for direction in cls:
            if direction.wire_name == lowered:
                return direction
        return None


class Chunk:
    """Bytes read in one go, with the loop time (seconds) they were read or are due."""

    __slots__ = ("data", "timestamp")

    def __init__(self, data: bytes, timestamp: float) -> None:
        self.data = data
        self.timestamp = timestamp

    def __repr__(self) -> str:
        return f"Chunk({self.data!r}, {self.timestamp:.6f})"


class Output(Protocol):
    """Where a stage sends chunks: the next stage's queue or the link's writer."""

    def put(self, chunk: Chunk | None) -> None:
        """Take a chunk, or ``None`` for the end of the stream; never blocks."""


class Backlog(Protocol):
    """Accounts the bytes waiting in a link's queues (the link pauses its source above a mark)."""

    def grow(self, size: int) -> None:
        """``size`` more bytes wait."""

    def shrink(self, size: int) -> None:
        """``size`` fewer bytes wait."""


class ChunkQueue:
    """An unbounded FIFO of chunks feeding one stage; wakes the stage's pending receive."""

    __slots__ = ("_backlog", "items", "waiter")

    def __init__(self, backlog: Backlog) -> None:
        self.items: deque[Chunk | None] = deque()
        #: The future a stage waiting for input awaits; set by :class:`~.stub.ToxicStub`.
        self.waiter: asyncio.Future[object] | None = None
        self._backlog = backlog

    def put(self, chunk: Chunk | None) -> None:
        """Append a chunk (or the end marker) and wake the stage if it waits."""
        self.items.append(chunk)
        if chunk is not None:
            self._backlog.grow(len(chunk.data))
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pop(self) -> Chunk | None:
        """Remove and return the oldest chunk, or return the end marker (which is never removed);
        the queue must not be empty."""
        chunk = self.items[0]
        if chunk is not None:
            self.items.popleft()
            self._backlog.shrink(len(chunk.data))
        return chunk
