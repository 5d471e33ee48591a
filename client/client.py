"""The resilient client: the asyncio shell around the connection state machine.

:class:`ResilientWebSocketClient` does what the seed's browser client does (reconnect before send,
WebSocket first, a heartbeat, at most three attempts, REST fallback, a status line) and closes the
gaps it leaves: a deadline on the heartbeat's pong, jittered and classified retries, a bound on
every wait, and the REST retry reusing the query's id so the back end's ledger never runs it twice.

Decisions are made by :class:`~client.state.ConnectionMachine`; this module only opens and drops
sockets, runs timers, and tells the machine what happened.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from types import TracebackType
from typing import Any

from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection, connect

from client.backoff import FullJitterBackoff
from client.connection import Link, ProgressCallback, log_task_failure
from client.errors import (
    AnswerTimeout,
    BackendError,
    ConnectFailure,
    QueryFailed,
    QueryTooLarge,
    TransportError,
    describe_failure,
)
from client.metrics import ClientMetrics
from client.options import ClientOptions
from client.protocol import MESSAGE_LIMIT, QueryResult, query_message
from client.rest import RestFallback
from client.state import (
    Action,
    AttemptFailed,
    CloseRequested,
    ConnectionMachine,
    ConnectionState,
    ConnectRequested,
    CountReconnect,
    DropSocket,
    Event,
    Opened,
    OpenSocket,
    PongMissed,
    QueryTimedOut,
    ReconnectRequested,
    RetryDue,
    ScheduleRetry,
    SocketClosed,
    StatusChange,
)

__all__ = ["ResilientWebSocketClient", "StatusCallback"]

logger = logging.getLogger(__name__)

#: A subscriber: called synchronously with each :class:`~client.state.StatusChange`, in order.
StatusCallback = Callable[[StatusChange], object]


class ResilientWebSocketClient:
    """A WebSocket client for an API Gateway WebSocket API that recovers by itself.

    Args:
        url: the WebSocket API, ``ws://`` or ``wss://`` (e.g. ``ws://127.0.0.1:3001/prod``).
        rest_url: the REST API's stage base for the fallback (``POST {rest_url}/query``);
            None = no fallback (a query the WebSocket cannot answer raises QueryFailed).
        heartbeat_interval: seconds between application pings (a duration); None = no heartbeat.
        pong_timeout: seconds a pong may take (a budget); a miss fails the connection as unclean.
            None = pings are sent but their pongs not awaited.
        max_reconnect_attempts: connection attempts per reconnect sequence (at least 1).
        backoff_base: seconds; the first backoff window (full jitter, doubling per attempt).
        backoff_max: seconds; the largest backoff window.
        query_timeout: seconds a query's result may take over WebSocket after sending, and again
            over REST (a budget). A WebSocket miss closes the connection as suspect.
        fallback_after: seconds a query waits for a connection that is not up before it goes over
            REST while attempts go on (a budget, see :mod:`client.options`).
        open_timeout: seconds an opening handshake may take (a budget).
        time_scale: design §3's N: durations are divided by N, budgets too but floored at 250 ms.
        rng: the random source of the backoff jitter; None = unseeded.
        registry: where the ``wschaos_client_*`` metrics go; None = a private registry
            (see :attr:`metrics`).

    A ``send_query`` returns within about ``fallback_after + 2 * query_timeout`` (real, after
    scaling): the wait for a connection, the WebSocket answer, then the REST answer.

    Raises:
        InvalidOptions: an option is invalid (named in the message).
    """

    def __init__(
        self,
        url: str,
        *,
        rest_url: str | None = None,
        heartbeat_interval: float | None = 30.0,
        pong_timeout: float | None = 10.0,
        max_reconnect_attempts: int = 3,
        backoff_base: float = 1.0,
        backoff_max: float = 10.0,
        query_timeout: float = 30.0,
        fallback_after: float = 5.0,
        open_timeout: float = 10.0,
        time_scale: float = 1.0,
        rng: random.Random | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.options = ClientOptions(
            url,
            rest_url=rest_url,
            heartbeat_interval=heartbeat_interval,
            pong_timeout=pong_timeout,
            max_reconnect_attempts=max_reconnect_attempts,
            backoff_base=backoff_base,
            backoff_max=backoff_max,
            query_timeout=query_timeout,
            fallback_after=fallback_after,
            open_timeout=open_timeout,
            time_scale=time_scale,
            rng=rng,
            registry=registry,
        )
        self.url = url
        self.rest_url = rest_url
        self.metrics = ClientMetrics(registry if registry is not None else CollectorRegistry())
        self._machine = ConnectionMachine(
            max_reconnect_attempts, FullJitterBackoff(backoff_base, backoff_max, rng)
        )
        self._rest = RestFallback(rest_url) if rest_url is not None else None
        self._subscribers: list[StatusCallback] = []
        self._link: Link | None = None
        self._retired: set[Link] = set()
        self._job: asyncio.Task[None] | None = None  # the attempt or backoff timer in progress
        self._settled: asyncio.Future[bool] | None = None  # the current sequence's outcome
        self._last_attempt = 0  # number of the most recent attempt (attempts of this sequence)
        self._last_failure: ConnectFailure | None = None
        self._reconnect_began: float | None = None
        self._closes = 0  # close() calls so far: a query that outlives one does not go on

    # Observing ---------------------------------------------------------------------------------

    @property
    def status(self) -> ConnectionState:
        """The current state."""
        return self._machine.state

    @property
    def status_text(self) -> str:
        """The seed's status line, e.g. ``"WebSocket: Reconnecting (1/3)..."``."""
        return self._machine.text

    @property
    def last_failure(self) -> ConnectFailure | None:
        """The most recent failed connection attempt, if any."""
        return self._last_failure

    def subscribe(self, callback: StatusCallback) -> Callable[[], None]:
        """Call ``callback(change)`` on every status change, in order; returns ``unsubscribe``.

        ``change`` is a :class:`~client.state.StatusChange` (``old``, ``new``, ``attempt``,
        ``text``, ``reason``, ``at`` = ``time.monotonic()``). A change of attempt number alone
        ("Reconnecting (1/3)" to "(2/3)") is a change. Callbacks run synchronously inside the
        client; an exception in one is logged and does not reach the others.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # Operations --------------------------------------------------------------------------------

    async def ensure_connection(self) -> bool:
        """Connect unless connected; True once CONNECTED, False if the attempts ended FAILED.

        Single flight: concurrent callers, and a reconnect already running in the background,
        share one sequence of attempts. Cancelling a caller does not cancel the attempts.
        The wait is bounded by the sequence: at most ``max_reconnect_attempts`` handshakes of
        ``open_timeout`` each plus their backoffs. :meth:`close` ends it at once with False.
        """
        if self._machine.state is ConnectionState.CONNECTED:
            return True
        self._feed(ConnectRequested())
        return await asyncio.shield(self._sequence())

    async def reconnect(self) -> bool:
        """The seed's "Reconnect Now": drop the socket, reset the attempt counter, connect at once.

        Returns what :meth:`ensure_connection` returns for the new sequence.
        """
        self._feed(ReconnectRequested())
        return await asyncio.shield(self._sequence())

    async def send_query(
        self,
        text: str,
        *,
        query_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> QueryResult:
        """Run one query: WebSocket first (connecting first if needed), REST as the fallback.

        Args:
            text: the query.
            query_id: the id to send it with (the same on both transports); None = a fresh
                random one. Reusing an id asks the back end's ledger for its stored answer.
            on_progress: receives the back end's progress messages while the query runs on the
                WebSocket.

        Returns:
            The answer and how it came.

        Raises:
            QueryTooLarge: the message is over 128 KB; nothing was sent.
            QueryFailed: neither transport answered; names both transports' errors. A back-end
                error frame also ends here (REST not tried: it would repeat the same answer), and
                so does a query whose WebSocket wait :meth:`close` cut short.
        """
        if not isinstance(text, str):
            raise TypeError(f"query text must be a str, got {type(text).__name__}")
        if query_id is None:
            query_id = uuid.uuid4().hex
        elif not isinstance(query_id, str) or not query_id:
            raise TypeError(f"query_id must be a non-empty str, got {query_id!r}")
        started = time.monotonic()
        message = query_message(query_id, text)
        size = len(message.encode("utf-8"))
        if size > MESSAGE_LIMIT:
            self.metrics.query("websocket", "errored")
            raise QueryTooLarge(query_id, size, MESSAGE_LIMIT)

        reconnects = 0
        closes = self._closes
        try:
            if self._machine.state is not ConnectionState.CONNECTED:
                try:
                    await self._wait_for_connection()
                finally:
                    reconnects = self._last_attempt
            answer = await self._ask_websocket(query_id, message, on_progress)
        except BackendError as exc:
            self.metrics.query("websocket", "errored")
            raise QueryFailed(query_id, websocket_error=exc.detail, rest_error=None) from exc
        except TransportError as exc:
            websocket_error = exc.detail
        else:
            self.metrics.query("websocket", "answered")
            return QueryResult(
                query_id, "websocket", answer, reconnects, time.monotonic() - started
            )

        if self._rest is None or self._closes != closes:
            # Closed while the query waited: it ends here rather than reopening the HTTP
            # session that close() released.
            rest_error = "no rest_url configured" if self._rest is None else "the client was closed"
            self.metrics.query("websocket", "errored")
            raise QueryFailed(query_id, websocket_error=websocket_error, rest_error=rest_error)
        logger.info(
            "query %s: WebSocket failed (%s), falling back to REST", query_id, websocket_error
        )
        try:
            answer = await self._rest.query(query_id, text, timeout=self.options.query_budget)
        except TransportError as exc:
            self.metrics.query("rest", "errored")
            raise QueryFailed(
                query_id, websocket_error=websocket_error, rest_error=exc.detail
            ) from exc
        self.metrics.query("rest", "answered")
        return QueryResult(query_id, "rest", answer, reconnects, time.monotonic() - started)

    async def close(self) -> None:
        """Close the socket cleanly and release everything; the status becomes DISCONNECTED.

        Returns once the closing handshake and every background task are over. Queries still
        waiting on the WebSocket end in QueryFailed (REST is not tried once the client is
        closed); ``ensure_connection`` callers get False. The client stays usable: a later query
        reconnects, as the DISCONNECTED status line says.
        """
        self._closes += 1
        job = self._job
        self._feed(CloseRequested())
        retired, self._retired = self._retired, set()
        await asyncio.gather(
            *(link.wait_closed() for link in retired),
            *([job] if job is not None else []),
            return_exceptions=True,
        )
        if self._rest is not None:
            await self._rest.close()

    async def __aenter__(self) -> ResilientWebSocketClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # Query helpers -----------------------------------------------------------------------------

    async def _wait_for_connection(self) -> None:
        """Wait at most ``fallback_after`` for CONNECTED; raise TransportError otherwise."""
        budget = self.options.fallback_budget
        try:
            async with asyncio.timeout(budget):  # cancels the wait, never the shared attempts
                connected = await self.ensure_connection()
        except TimeoutError:
            raise TransportError(
                "websocket", f"not connected within fallback_after ({budget:.3g}s)"
            ) from None
        if not connected:
            if self._machine.state is ConnectionState.DISCONNECTED:
                raise TransportError("websocket", "the client was closed while connecting")
            raise TransportError("websocket", f"connection failed: {self._last_failure}")

    async def _ask_websocket(
        self, query_id: str, message: str, on_progress: ProgressCallback | None
    ) -> dict[str, Any]:
        link = self._link
        if link is None or self._machine.state is not ConnectionState.CONNECTED:
            raise TransportError("websocket", "connection lost before the query was sent")
        try:
            return await link.exchange(
                query_id, message, timeout=self.options.query_budget, on_progress=on_progress
            )
        except AnswerTimeout:
            # The connection is suspect (design §7): the result may be lost with a half-open
            # socket, so drop it and reconnect in the background.
            self._feed(QueryTimedOut(link.token))
            raise

    def _sequence(self) -> asyncio.Future[bool]:
        """The outcome of the sequence of attempts underway (created when it began)."""
        assert self._settled is not None, "no connection sequence underway"
        return self._settled

    # Driving the state machine -----------------------------------------------------------------

    def _feed(self, event: Event) -> None:
        for action in self._machine.handle(event):
            self._apply(action)

    def _apply(self, action: Action) -> None:
        match action:
            case StatusChange():
                self._on_change(replace(action, at=time.monotonic()))
            case OpenSocket(token=token, attempt=attempt):
                self._last_attempt = attempt
                self._replace_job(self._open(token, attempt), f"client-open-{token}")
            case ScheduleRetry(token=token, delay=delay, failure=failure):
                seconds = self.options.scale.duration(delay)
                logger.info("%s; next attempt in %.3fs", failure, seconds)
                self._replace_job(self._retry_after(token, seconds), f"client-backoff-{token}")
            case DropSocket(graceful=graceful, reason=reason):
                self._replace_job(None, "")
                link, self._link = self._link, None
                if link is not None:
                    self._retired = {old for old in self._retired if not old.finished}
                    self._retired.add(link)
                    link.drop(graceful=graceful, reason=reason)
            case CountReconnect(trigger=trigger):
                self.metrics.reconnects.labels(trigger=trigger.value).inc()
                self._reconnect_began = time.monotonic()

    def _on_change(self, change: StatusChange) -> None:
        self.metrics.set_state(change.new)
        if change.new is ConnectionState.CONNECTED:
            if self._reconnect_began is not None:
                self.metrics.reconnect_seconds.observe(change.at - self._reconnect_began)
                self._reconnect_began = None
            self._settle(True)
        elif change.new in (ConnectionState.FAILED, ConnectionState.DISCONNECTED):
            self._reconnect_began = None
            self._settle(False)
        elif self._settled is None or self._settled.done():
            self._settled = asyncio.get_running_loop().create_future()
        for callback in list(self._subscribers):
            try:
                callback(change)
            except Exception:
                logger.exception("status subscriber %r failed", callback)

    def _settle(self, connected: bool) -> None:
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(connected)

    def _replace_job(self, coro: Coroutine[Any, Any, None] | None, name: str) -> None:
        """Cancel the attempt or timer in progress (unless it is the caller) and start ``coro``."""
        old, self._job = self._job, None
        if old is not None and old is not asyncio.current_task():
            old.cancel()
        if coro is not None:
            self._job = asyncio.create_task(coro, name=name)
            self._job.add_done_callback(log_task_failure)

    # I/O ---------------------------------------------------------------------------------------

    async def _open(self, token: int, attempt: int) -> None:
        budget = self.options.open_budget
        try:
            ws = await connect(
                self.url,
                # API Gateway ignores protocol pings for idleness (fact sheet §4): our heartbeat
                # is the application ping, so websockets' own keepalive stays off.
                ping_interval=None,
                ping_timeout=None,
                # No permessage-deflate: frames must stay within API Gateway's 32 KB as counted.
                compression=None,
                open_timeout=budget,
                close_timeout=budget,
            )
        except Exception as exc:
            failure = describe_failure(exc)
            self._last_failure = failure
            self.metrics.connect_attempts.labels(outcome=failure.kind.value).inc()
            logger.info("attempt %d failed: %s", attempt, failure)
            self._feed(AttemptFailed(token, failure))
            return
        self.metrics.connect_attempts.labels(outcome="success").inc()
        if token != self._machine.token:  # superseded while the handshake completed
            await ws.close()
            return
        self._start_link(ws, token)
        self._feed(Opened(token))

    def _start_link(self, ws: ClientConnection, token: int) -> None:
        link = Link(
            ws,
            token,
            heartbeat_interval=self.options.heartbeat_seconds,
            pong_timeout=self.options.pong_budget,
            closed=self._on_link_closed,
            pong_missed=self._on_pong_missed,
        )
        self._link = link
        link.start()

    async def _retry_after(self, token: int, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._feed(RetryDue(token))

    def _on_link_closed(self, link: Link, clean: bool, code: int | None, reason: str) -> None:
        self._feed(SocketClosed(link.token, clean, code, reason))

    def _on_pong_missed(self, link: Link) -> None:
        self._feed(PongMissed(link.token))
