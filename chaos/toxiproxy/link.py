"""One direction of one proxied connection: source socket -> toxic stages -> destination socket.

A link mirrors its proxy's chain for that direction (Toxiproxy's ``ToxicLink``)::

    source --read--> [stage 1] -> [stage 2] -> ... -> writer --write--> destination

With no toxic the reader writes straight to the destination (the hidden no-op head of Toxiproxy's
chain holds nothing, so skipping it changes nothing but speed). Toxics added, updated or removed
through the API are applied to live links as Toxiproxy applies them: added at the end with fresh
state, updated by restarting the stage, removed after forwarding what waits in the stage without
the effect (see :meth:`ToxicLink.add_toxic` and friends).

End of stream: a source EOF (or error) sends the end marker after pending chunks; when it reaches
the writer the destination socket is fully closed (no half-close), which ends the opposite link.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from chaos.toxiproxy.stream import CHUNK_SIZE, Chunk, ChunkQueue, Direction, Output
from chaos.toxiproxy.stub import ToxicStub
from chaos.toxiproxy.toxics.base import AbortiveToxic, CleanupToxic, StatefulToxic

if TYPE_CHECKING:
    from chaos.toxiproxy.toxic_collection import ToxicWrapper

__all__ = ["BACKLOG_HIGH", "BACKLOG_LOW", "Endpoint", "LinkOwner", "ToxicLink"]

#: Bytes waiting in a link's stage queues above which the link stops reading its source, so a slow
#: toxic (bandwidth, a stalled stream) pushes back on the sender instead of buffering without end.
BACKLOG_HIGH = 2 * 1024 * 1024
#: Bytes below which reading resumes.
BACKLOG_LOW = 512 * 1024

_LINGER_ZERO = struct.pack("ii", 1, 0)


class LinkOwner(Protocol):
    """What a link reports to: the toxic collection that updates live links."""

    def remove_link(self, link: ToxicLink) -> None:
        """The link has closed its destination; it takes no more API changes."""


class Endpoint(asyncio.Protocol):
    """One socket of a proxied connection (the client's or the upstream's).

    Attributes:
        reads: the link this socket is the source of.
        writes: the link this socket is the destination of.
        lost: True once the socket is closed.
        closing: True once we closed or aborted it (nothing more is written to it).
    """

    def __init__(self, on_lost: Callable[[], None] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.reads: ToxicLink | None = None
        self.writes: ToxicLink | None = None
        self.lost = False
        self.closing = False
        self._on_lost = on_lost

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if self.closing:  # closed (dial failed, proxy stopped) before the transport existed
            transport.abort()
            return
        transport.pause_reading()  # the connection resumes once both sides are linked

    def data_received(self, data: bytes) -> None:
        if self.reads is not None:
            self.reads.feed(data)

    def eof_received(self) -> bool:
        if self.reads is not None:
            self.reads.feed_eof()
        return True  # keep the socket open: data may still flow to this peer

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.reads is not None:
            self.reads.feed_eof()
        if self.writes is not None:
            self.writes.destination_lost()
        if self._on_lost is not None:
            self._on_lost()

    def pause_writing(self) -> None:
        if self.writes is not None:
            self.writes.destination_paused(True)

    def resume_writing(self) -> None:
        if self.writes is not None:
            self.writes.destination_paused(False)

    # used by links and connections
    def close(self) -> None:
        """Close after flushing what was written (FIN, or RST under ``SO_LINGER`` 0); reading
        stops at once, which ends the link this socket feeds."""
        if not self.closing:
            self.closing = True
            if self.transport is not None:
                self.transport.close()
        if self.reads is not None:
            self.reads.feed_eof()

    def abort(self) -> None:
        """Close now, discarding unsent data (the proxy is going down)."""
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def set_linger_zero(self) -> None:
        """Make the close a TCP RST (``SO_LINGER`` on, timeout 0)."""
        if self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)


class ToxicLink:
    """The stages between a source and a destination socket, for one direction.

    The link is also the chain's writer: the last stage's output (:meth:`put`).
    """

    def __init__(
        self,
        owner: LinkOwner,
        direction: Direction,
        source: Endpoint,
        destination: Endpoint,
        rng: random.Random,
    ) -> None:
        self.owner = owner
        self.direction = direction
        self.source = source
        self.destination = destination
        self.rng = rng
        self._loop = asyncio.get_running_loop()
        self._wrappers: list[ToxicWrapper] = []
        self._stubs: list[ToxicStub] = []
        self._head: Output = self
        self._eof_fed = False
        self._finished = False
        self._backlog = 0
        self._paused_by_backlog = False
        self._paused_by_destination = False
        source.reads = self
        destination.writes = self

    def start(self, chain: list[ToxicWrapper]) -> None:
        """Build one stage per toxic of ``chain`` (the proxy's chain for this direction) and run
        them. A ``reset_peer`` already present makes both sockets close with RST."""
        output: Output = self
        stubs: list[ToxicStub] = []
        for wrapper in reversed(chain):
            stub = self._new_stub(wrapper, output)
            if isinstance(wrapper.toxic, AbortiveToxic) and wrapper.toxic.resets_connection():
                self.source.set_linger_zero()
                self.destination.set_linger_zero()
            stubs.append(stub)
            output = stub.input
        stubs.reverse()
        self._wrappers = list(chain)
        self._stubs = stubs
        self._head = output
        for wrapper, stub in zip(self._wrappers, self._stubs, strict=True):
            stub.run(wrapper.toxic, wrapper.toxicity)
        self._update_reading()

    def _new_stub(self, wrapper: ToxicWrapper, output: Output) -> ToxicStub:
        """A stage for ``wrapper``'s toxic sending to ``output``, with fresh per-link state."""
        stub = ToxicStub(ChunkQueue(self), output, self.rng)
        if isinstance(wrapper.toxic, StatefulToxic):
            stub.state = wrapper.toxic.new_state()
        return stub

    # --- the reader -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes read from the source: written at once, or queued as chunks of <= 32 KiB."""
        head = self._head
        if head is self:
            self._write(data)
            return
        now = self._loop.time()
        if len(data) <= CHUNK_SIZE:
            head.put(Chunk(data, now))
        else:
            view = memoryview(data)
            for offset in range(0, len(data), CHUNK_SIZE):
                head.put(Chunk(bytes(view[offset : offset + CHUNK_SIZE]), now))

    def feed_eof(self) -> None:
        """The source ended (EOF, error, or closed by us): the end marker follows pending data."""
        if not self._eof_fed:
            self._eof_fed = True
            self._head.put(None)

    # --- the writer (the last stage's output) -----------------------------------------------

    def put(self, chunk: Chunk | None) -> None:
        if chunk is None:
            self._finish()
        else:
            self._write(chunk.data)

    def _write(self, data: bytes) -> None:
        destination = self.destination
        if not destination.closing and not destination.lost and destination.transport is not None:
            destination.transport.write(data)

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        self.owner.remove_link(self)
        self.destination.close()

    def destination_lost(self) -> None:
        """The destination socket is gone: later writes are discarded."""
        self._paused_by_destination = False

    # --- back-pressure ------------------------------------------------------------------------

    def grow(self, size: int) -> None:
        self._backlog += size
        if not self._paused_by_backlog and self._backlog > BACKLOG_HIGH:
            self._paused_by_backlog = True
            self._update_reading()

    def shrink(self, size: int) -> None:
        self._backlog -= size
        if self._paused_by_backlog and self._backlog <= BACKLOG_LOW:
            self._paused_by_backlog = False
            self._update_reading()

    def destination_paused(self, paused: bool) -> None:
        """The destination's write buffer passed its high (True) or low (False) mark."""
        self._paused_by_destination = paused
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self.source.transport
        if transport is None or self.source.closing or self.source.lost:
            return
        if self._paused_by_backlog or self._paused_by_destination:
            transport.pause_reading()
        else:
            transport.resume_reading()

    # --- live API changes -------------------------------------------------------------------

    async def add_toxic(self, wrapper: ToxicWrapper) -> None:
        """Append a stage for a new toxic, with fresh state.

        Chunks already in earlier stages pass through it; chunks already written are unaffected.
        The stage before it is interrupted and restarted (a new toxicity draw), as in Toxiproxy.
        """
        if self._finished:
            return
        stub = self._new_stub(wrapper, self)
        if not self._stubs:
            # Only the hidden no-op precedes it, and that holds nothing: rewire the reader.
            self._wrappers.append(wrapper)
            self._stubs.append(stub)
            self._head = stub.input
            stub.run(wrapper.toxic, wrapper.toxicity)
            return
        previous, previous_wrapper = self._stubs[-1], self._wrappers[-1]
        stub.output = previous.output
        self._wrappers.append(wrapper)
        self._stubs.append(stub)
        if await previous.interrupt():
            previous.output = stub.input
            stub.run(wrapper.toxic, wrapper.toxicity)
            previous.run(previous_wrapper.toxic, previous_wrapper.toxicity)
        else:
            stub.kill()  # the stream already ended upstream of it

    async def update_toxic(self, wrapper: ToxicWrapper) -> None:
        """Restart the toxic's stage with its new attributes and a new toxicity draw.

        The interrupted toxic releases what it holds (a delayed chunk leaves at once).
        """
        index = self._index(wrapper)
        if index is None:
            return
        stub = self._stubs[index]
        if await stub.interrupt():
            stub.run(wrapper.toxic, wrapper.toxicity)

    async def remove_toxic(self, wrapper: ToxicWrapper) -> None:
        """Unlink the toxic's stage after forwarding its queued chunks without the effect.

        A :class:`~chaos.toxiproxy.toxics.base.CleanupToxic` acts first (``timeout`` closes the
        connection). The stage before it is restarted with a new toxicity draw.
        """
        index = self._index(wrapper)
        if index is None:
            return
        stub = self._stubs[index]
        if not await stub.interrupt():
            self._unlink(stub)
            return
        if isinstance(wrapper.toxic, CleanupToxic):
            wrapper.toxic.cleanup(stub)
            if stub.closed:
                self._unlink(stub)
                return
        previous: ToxicStub | None = None
        previous_open = False
        index = self._index(wrapper)
        if index:
            previous = self._stubs[index - 1]
            previous_open = await previous.interrupt()
        queue = stub.input
        while queue.items:
            chunk = queue.pop()
            if chunk is None:
                stub.close()
                self._unlink(stub)
                return
            stub.output.put(chunk)
        if previous is None:
            self._head = stub.output
        else:
            previous.output = stub.output
            if previous_open:
                previous_wrapper = self._wrappers[self._stubs.index(previous)]
                previous.run(previous_wrapper.toxic, previous_wrapper.toxicity)
        self._unlink(stub)

    def _index(self, wrapper: ToxicWrapper) -> int | None:
        for index, candidate in enumerate(self._wrappers):
            if candidate is wrapper:
                return index
        return None

    def _unlink(self, stub: ToxicStub) -> None:
        index = self._stubs.index(stub)
        del self._stubs[index]
        del self._wrappers[index]

    def kill(self) -> None:
        """Tear the link down at once: cancel every stage (the connection is gone)."""
        if not self._finished:
            self._finished = True
            self.owner.remove_link(self)
        for stub in self._stubs:
            stub.kill()
