"""One open WebSocket connection: reads frames, runs the heartbeat, matches answers to queries.

A :class:`Link` wraps a ``websockets`` connection opened with its own keepalive off: protocol
pings keep nothing alive on API Gateway (fact sheet §4), so the heartbeat is the application
``ping`` with a deadline on its ``pong``: two knobs, ``heartbeat_interval`` and ``pong_timeout``,
None for off, as ``websockets``' ``ping_interval``/``ping_timeout``.

The link never decides what happens next. It reports to its owner through two callbacks, ``closed``
and ``pong_missed``; the owner feeds them to the state machine, which may tell it to drop the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from client.errors import AnswerTimeout, BackendError, ConnectionLost, TransportError
from client.protocol import (
    GatewayError,
    Pong,
    Progress,
    QueryError,
    Result,
    Unknown,
    fragments,
    parse_frame,
    ping_message,
)

__all__ = ["Link", "ProgressCallback", "log_task_failure"]

logger = logging.getLogger(__name__)

#: Receives each progress message of a query while it runs.
ProgressCallback = Callable[[str], None]


@dataclass(eq=False)  # identity semantics: removed from its list by identity
class _Pending:
    future: asyncio.Future[dict[str, Any]]
    on_progress: ProgressCallback | None


def log_task_failure(task: asyncio.Task[Any]) -> None:
    """Done callback for background tasks: an unexpected exception is logged, never lost.

    Cancellation is how tasks are stopped and is not a failure.
    """
    if not task.cancelled() and (exc := task.exception()) is not None:
        logger.error("background task %s failed", task.get_name(), exc_info=exc)


@dataclass(eq=False)  # identity semantics: links are kept in sets
class Link:
    """One open connection and the work that lives as long as it does.

    Args:
        ws: the open ``websockets`` connection (its keepalive off).
        token: the state machine's token for this socket, passed back in every callback.
        heartbeat_interval: real seconds between the end of one heartbeat and the next ping;
            None = no heartbeat.
        pong_timeout: real seconds a pong may take; None = pings are sent but not checked.
        closed: called once when the socket closes by itself: ``closed(link, clean, code,
            reason)``, ``clean`` meaning a close frame was received.
        pong_missed: called when a pong missed its deadline.
    """

    ws: ClientConnection
    token: int
    heartbeat_interval: float | None
    pong_timeout: float | None
    closed: Callable[[Link, bool, int | None, str], None]
    pong_missed: Callable[[Link], None]
    # Several callers may wait for the same query_id (a retry while the first is in flight):
    # the back end's ledger answers each request for it, and the first answer settles them all.
    _pending: dict[str, list[_Pending]] = field(default_factory=dict, init=False)
    _pongs: dict[int, asyncio.Future[None]] = field(default_factory=dict, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _lost: str | None = field(default=None, init=False)
    _last_timestamp: int = field(default=0, init=False)

    def start(self) -> None:
        """Start reading (and the heartbeat, if any)."""
        self._spawn(self._read(), "read")
        if self.heartbeat_interval is not None:
            self._spawn(self._heartbeat(), "heartbeat")

    def _spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        task = asyncio.create_task(coro, name=f"client-{what}-{self.token}")
        task.add_done_callback(log_task_failure)
        self._tasks.append(task)

    async def exchange(
        self,
        query_id: str,
        message: str,
        *,
        timeout: float,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Send one query message and wait for its result.

        Args:
            message: the encoded query; sent as fragments of at most 32 KB when longer.
            timeout: real seconds for sending and answering together.
            on_progress: receives the query's progress messages.

        Raises:
            AnswerTimeout: no result within ``timeout``.
            ConnectionLost: the socket went away first.
            BackendError: the back end answered with an error frame.
        """
        if self._lost is not None:
            raise ConnectionLost("websocket", self._lost)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        pending = _Pending(future, on_progress)
        self._pending.setdefault(query_id, []).append(pending)
        pieces = fragments(message)
        try:
            async with asyncio.timeout(timeout):
                # websockets sends an iterable of str as one fragmented text message.
                await self.ws.send(pieces[0] if len(pieces) == 1 else pieces)
                return await future
        except TimeoutError as exc:
            raise AnswerTimeout("websocket", f"no result within {timeout:.3g}s") from exc
        except ConnectionClosed as exc:
            raise ConnectionLost("websocket", f"connection closed while sending: {exc}") from exc
        finally:
            waiters = self._pending.get(query_id, [])
            if pending in waiters:
                waiters.remove(pending)
            if not waiters:
                self._pending.pop(query_id, None)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a loss reported while sending is not an orphan

    def drop(self, *, graceful: bool, reason: str) -> None:
        """Stop using the socket: fail waiting queries, stop reading and the heartbeat.

        Args:
            graceful: send a close frame (the closing handshake runs in the background; see
                :meth:`wait_closed`); otherwise drop TCP at once.
            reason: passed to the queries that were waiting.
        """
        self._stop(reason)
        if graceful:
            self._spawn(self._close(), "close")
        else:
            self.ws.transport.abort()

    @property
    def finished(self) -> bool:
        """Every task of the link (reader, heartbeat, closing handshake) is over."""
        return all(task.done() for task in self._tasks)

    async def wait_closed(self) -> None:
        """Wait until :attr:`finished` (the closing handshake is bounded by its close_timeout)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _close(self) -> None:
        # close() waits for the handshake up to the connection's close_timeout, then aborts.
        with contextlib.suppress(Exception):
            await self.ws.close()

    def _stop(self, reason: str) -> None:
        """Fail the waiting queries with ``reason`` and cancel every task but the caller."""
        if self._lost is None:
            self._lost = reason
        for waiters in self._pending.values():
            for pending in waiters:
                if not pending.future.done():
                    pending.future.set_exception(ConnectionLost("websocket", self._lost))
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    async def _read(self) -> None:
        code: int | None = None
        reason = ""
        try:
            while True:
                self._dispatch(await self.ws.recv())
        except ConnectionClosed as exc:
            clean = exc.rcvd is not None
            if exc.rcvd is not None:
                code, reason = exc.rcvd.code, exc.rcvd.reason
            what = (
                f"close frame {code} {reason!r}"
                if clean
                else "connection lost without a close frame"
            )
        except Exception as exc:
            # Not a close: a bug, or a transport error websockets did not wrap. Without a reader
            # the link is dead, so it is reported lost (unclean) rather than left looking alive.
            logger.exception("socket %d: reading failed", self.token)
            clean, what = False, f"reading failed: {exc!r}"
        logger.info("socket %d: %s", self.token, what)
        self._stop(what)
        self.closed(self, clean, code, reason)

    def _dispatch(self, data: str | bytes) -> None:
        frame = parse_frame(data)
        match frame:
            case Result(query_id=query_id, answer=answer):
                self._settle(query_id, answer)
            case QueryError(query_id=query_id, message=message):
                self._settle(query_id, BackendError("websocket", f"back end error: {message}"))
            case Progress(query_id=query_id, message=message):
                for pending in self._pending.get(query_id, []):
                    if pending.on_progress is not None:
                        try:
                            pending.on_progress(message)
                        except Exception:
                            logger.exception("progress callback failed")
            case Pong(timestamp=timestamp):
                pong = self._pongs.pop(timestamp, None)
                if pong is not None and not pong.done():
                    pong.set_result(None)
            case GatewayError(message=message, request_id=request_id):
                logger.warning(
                    "socket %d: gateway error frame %r (%s)", self.token, message, request_id
                )
            case Unknown(raw=raw, why=why):
                logger.warning("socket %d: ignored frame (%s): %.200s", self.token, why, raw)

    def _settle(self, query_id: str, outcome: dict[str, Any] | TransportError) -> None:
        waiting = [p for p in self._pending.get(query_id, []) if not p.future.done()]
        if not waiting:
            logger.info("socket %d: answer for %s, which no one waits for", self.token, query_id)
        for pending in waiting:
            if isinstance(outcome, TransportError):
                pending.future.set_exception(outcome)
            else:
                pending.future.set_result(outcome)

    async def _heartbeat(self) -> None:
        assert self.heartbeat_interval is not None
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            timestamp = self._next_timestamp()
            pong: asyncio.Future[None] | None = None
            if self.pong_timeout is not None:
                pong = asyncio.get_running_loop().create_future()
                self._pongs[timestamp] = pong
            try:
                # Sending counts against the deadline too: a stalled write buffer is no better.
                async with asyncio.timeout(self.pong_timeout):
                    await self.ws.send(ping_message(timestamp))
                    if pong is not None:
                        await pong
            except TimeoutError:
                logger.warning(
                    "socket %d: no pong within %.3gs", self.token, self.pong_timeout or 0.0
                )
                self.pong_missed(self)
                return
            except ConnectionClosed:
                return  # the reader reports the close
            finally:
                self._pongs.pop(timestamp, None)

    def _next_timestamp(self) -> int:
        # Epoch milliseconds, as the seed's Date.now(); made unique so each pong matches one ping.
        self._last_timestamp = max(int(time.time() * 1000), self._last_timestamp + 1)
        return self._last_timestamp
