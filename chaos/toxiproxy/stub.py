"""A toxic stage on one link: the per-connection half of a toxic (Toxiproxy's ``ToxicStub``).

A toxic is shared by every connection; the stub holds what belongs to one connection and
direction: its input queue, its output, its state (``limit_data``'s byte count) and the task running
the toxic's ``pipe``. The stub applies ``toxicity`` once, when the stage starts: a draw ``r`` in
``[0, 1)`` from the server's seeded generator runs the real toxic if ``r < toxicity``, else a
pass-through.

An API change *interrupts* a stage: the toxic's pending :meth:`ToxicStub.recv` or
:meth:`ToxicStub.sleep` raises :class:`Interrupted`, the toxic forwards whatever it holds (nothing
is dropped) and returns; the link then rewires the chain and restarts stages.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

from chaos.toxiproxy.stream import Chunk, ChunkQueue, Output

if TYPE_CHECKING:
    from chaos.toxiproxy.toxics.base import Toxic

__all__ = ["Interrupted", "ToxicStub"]

logger = logging.getLogger(__name__)

_TIMED_OUT = object()


class Interrupted(Exception):
    """Raised inside a toxic's ``pipe`` when the API interrupts its stage; the toxic must forward
    any chunk it holds and return (or let this propagate)."""


def _wake(future: asyncio.Future[object], result: object = None) -> None:
    if not future.done():
        future.set_result(result)


class ToxicStub:
    """One stage of one link.

    Attributes:
        input: the queue this stage reads.
        output: where it sends (the next stage's queue or the link's writer); rewired by the link.
        state: per-connection state of a stateful toxic (kept across updates), else ``None``.
        rng: the server's seeded random generator (toxicity draws, jitter, slicing).
    """

    __slots__ = (
        "_closed",
        "_interrupted",
        "_loop",
        "_task",
        "_waiter",
        "input",
        "output",
        "rng",
        "state",
    )

    def __init__(self, input: ChunkQueue, output: Output, rng: random.Random) -> None:
        self.input = input
        self.output = output
        self.state: object | None = None
        self.rng = rng
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._interrupted = False
        self._waiter: asyncio.Future[object] | None = None
        self._task: asyncio.Task[None] | None = None

    # --- the toxic's side ------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the stage has sent the end of the stream."""
        return self._closed

    async def recv(self, timeout: float | None = None) -> Chunk | None:
        """The next chunk, or ``None`` at the end of the stream.

        Args:
            timeout: seconds to wait for input; ``None`` waits for ever.

        Raises:
            Interrupted: the API interrupted the stage.
            TimeoutError: no input within ``timeout`` seconds.
        """
        queue = self.input
        while True:
            if self._interrupted:
                raise Interrupted
            if queue.items:
                return queue.pop()
            waiter = self._loop.create_future()
            queue.waiter = self._waiter = waiter
            timer = (
                self._loop.call_later(timeout, _wake, waiter, _TIMED_OUT)
                if timeout is not None
                else None
            )
            try:
                await waiter
            finally:
                queue.waiter = self._waiter = None
                if timer is not None:
                    timer.cancel()
            if waiter.result() is _TIMED_OUT and not self._interrupted and not queue.items:
                raise TimeoutError

    def now(self) -> float:
        """The loop's clock, in seconds (the clock of chunk timestamps)."""
        return self._loop.time()

    async def sleep_until(self, when: float) -> None:
        """Wait until loop time ``when`` (seconds); returns at once if it has passed.

        Raises:
            Interrupted: the API interrupted the stage (at once, even before ``when``).
        """
        if self._interrupted:
            raise Interrupted
        if when <= self._loop.time():
            return
        waiter = self._loop.create_future()
        self._waiter = waiter
        timer = self._loop.call_at(when, _wake, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            timer.cancel()
        if self._interrupted:
            raise Interrupted

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (not at all when <= 0); raises :class:`Interrupted` as
        :meth:`sleep_until` does."""
        if seconds > 0:
            await self.sleep_until(self._loop.time() + seconds)
        elif self._interrupted:
            raise Interrupted

    def send(self, chunk: Chunk) -> None:
        """Pass a chunk on; empty chunks are dropped (writing nothing is a no-op)."""
        if chunk.data:
            self.output.put(chunk)

    def close(self) -> None:
        """Send the end of the stream on (once): the link closes the destination socket when it
        arrives."""
        if not self._closed:
            self._closed = True
            self.output.put(None)

    # --- the link's side ------------------------------------------------------------------

    def run(self, toxic: Toxic, toxicity: float) -> None:
        """Start (or restart) the stage with a fresh toxicity draw."""
        from chaos.toxiproxy.toxics.noop import NoopToxic  # here: the toxics import this module

        self._interrupted = False
        chosen: Toxic = toxic if self.rng.random() < toxicity else NoopToxic()
        self._task = self._loop.create_task(self._pipe(chosen))

    async def _pipe(self, toxic: Toxic) -> None:
        try:
            await toxic.pipe(self)
        except Interrupted:
            pass
        except Exception:
            # A failing toxic must not stall the link silently: log it and end the stream.
            logger.exception("toxic %s failed; closing its stream", toxic.wire_name)
            self.close()

    async def interrupt(self) -> bool:
        """Stop the running toxic so the link can rewire or restart the stage.

        Waits until the toxic has returned (a ``reset_peer`` waiting out its timer is waited for).

        Returns:
            True if the stage stopped open (it may be restarted), False if it is closed.
        """
        if self._closed:
            return False
        task = self._task
        if task is not None and not task.done():
            self._interrupted = True
            if self._waiter is not None:
                _wake(self._waiter)
            await asyncio.wait([task])
        return not self._closed

    def kill(self) -> None:
        """Cancel the stage at once (the connection is gone); nothing more is sent."""
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
