"""The emulated API Gateway: connections, routes, integrations, timers and faults (no aiohttp).

:class:`Gateway` is the model behind both ports. The aiohttp shells feed it what they see (a
handshake, a text message, a ping, a close) and it decides what happens, calling back through each
connection's :class:`~emulator.models.Channel`. It also carries the @connections operations
(:meth:`Gateway.post_to_connection`, :meth:`Gateway.get_connection`,
:meth:`Gateway.delete_connection`), which raise the AWS errors of :mod:`emulator.exceptions`;
unknown ids are never created.

Timing (design §3): configured durations (idle timeout, max duration, fault delays) are divided by
the time scale; the integration timeout is a processing budget, so it also gets the real-time floor.
The idle and duration limits are enforced by :class:`~emulator.reaper.Reaper`, the 429 rate limit
by :class:`~emulator.throttle.TokenBucket`.

Back-pressure: each message runs as its own task (AWS answers messages concurrently, possibly out
of order). A connection with :data:`MAX_IN_FLIGHT` messages still running stops being read until
half of them finish, so a flood cannot pile up tasks without bound.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import CollectorRegistry

from emulator import authorizer as auth
from emulator import events
from emulator.config import ApiConfig
from emulator.eager import start_eager
from emulator.exceptions import (
    BadRequestException,
    GoneException,
    IntegrationError,
    IntegrationTimeout,
    PayloadTooLargeException,
)
from emulator.faults import FaultSet
from emulator.frames import REASONS, CloseCode
from emulator.ids import is_connection_id, new_api_id, new_id
from emulator.lambda_runtime import LambdaRuntime
from emulator.metrics import NO_ROUTE, GatewayMetrics
from emulator.models import Channel, Connection, ConnectionState, iso_millis
from emulator.reaper import Reaper
from emulator.replies import STATUS_MESSAGES, connect_verdict, error_frame, route_response
from emulator.routing import select_route
from emulator.throttle import TokenBucket
from emulator.timing import TimeScale

__all__ = ["Gateway", "Handshake", "HandshakeRequest"]

logger = logging.getLogger(__name__)

#: Messages of one connection running at once before its socket stops being read: small enough
#: to bound a flood's memory, large enough to cost pipelining nothing measurable (see bench/).
MAX_IN_FLIGHT = 1024

# Real seconds shutdown waits for clients to answer its close frames before closing TCP.
_SHUTDOWN_LINGER = 1.0


@dataclass(frozen=True)
class HandshakeRequest:
    """What the shell saw of a WebSocket upgrade request.

    Attributes:
        raw_headers: headers with names as sent, in order.
        query: query string (name, value) pairs, decoded.
        source_ip: the client's address.
        host: the ``Host`` header (the event's ``domainName``).
        port: the port the gateway listens on (``X-Forwarded-Port``).
        proto: ``http`` or ``https`` (``X-Forwarded-Proto``).
    """

    raw_headers: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...]
    source_ip: str
    host: str
    port: int
    proto: str


@dataclass(frozen=True)
class Handshake:
    """The gateway's answer to a handshake.

    Attributes:
        status: 101 to upgrade; otherwise the HTTP status to answer with.
        connection: the connection to open (status 101 only).
        subprotocol: the ``Sec-WebSocket-Protocol`` ``$connect`` selected, or None.
        message: a ``{"message": ...}`` body for a rejection, or None for an empty body.
    """

    status: int
    connection: Connection | None = None
    subprotocol: str | None = None
    message: str | None = None


class Gateway:
    """One emulated API (WebSocket API plus its REST API).

    Args:
        config: the API.
        registry: where the gateway's metrics go; None = a private registry.
        time_scale: divides every configured duration (design §3).
        api_id: the API id in events and ARNs; None = a fresh random one.
    """

    def __init__(
        self,
        config: ApiConfig,
        *,
        registry: CollectorRegistry | None = None,
        time_scale: float = 1.0,
        api_id: str | None = None,
    ) -> None:
        self.base_config = config
        self.config = config
        self.time = TimeScale(time_scale)
        self.api_id = api_id or new_api_id()
        self.registry = registry if registry is not None else CollectorRegistry()
        self.metrics = GatewayMetrics.for_registry(self.registry)
        self.runtime = LambdaRuntime()
        self.faults = FaultSet(self, self.time, lambda: self.loop)
        #: Integration failures, newest last (at most 100), for tests to surface.
        self.handler_errors: collections.deque[IntegrationError] = collections.deque(maxlen=100)
        #: Called by :meth:`reset` (the sample API clears its query ledger).
        self.reset_hooks: list[Callable[[Gateway], None]] = []
        self.last_connection_id: str | None = None
        self._connections: dict[str, Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._message_counters: dict[str, Any] = {}
        self._closed_waiters: dict[str, asyncio.Future[None]] = {}
        self._bucket = TokenBucket(config.limits.new_connections_per_second)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock0 = (0.0, 0)
        self.reaper = Reaper(lambda: self.loop, self._expire)
        self._derive(config)

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the gateway runs on (bound on first use from a coroutine)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._clock0 = (self._loop.time(), events.now_ms())
        return self._loop

    def _wall_ms(self, loop_time: float) -> int:
        mono0, wall0 = self._clock0
        return wall0 + round((loop_time - mono0) * 1000)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task the gateway tracks (cancelled on shutdown)."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def start(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as a tracked task (eagerly where Python allows, see emulator.eager)."""
        task = start_eager(coro, self.loop)
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    async def settle(self, timeout: float) -> bool:
        """Wait until the gateway's own tasks (message dispatch, replies, ``$disconnect``
        handlers) have ended, at most ``timeout`` real seconds; False if some still run.

        Closing a connection only *starts* its ``$disconnect`` handler: a test harness waits here
        before it checks for handler failures. A task that ends may start another (a reply),
        hence the loop.
        """
        deadline = self.loop.time() + timeout
        while pending := [task for task in self._tasks if not task.done()]:
            remaining = deadline - self.loop.time()
            if remaining <= 0:
                return False
            await asyncio.wait(pending, timeout=remaining)
        return True

    def _message_counter(self, route: str) -> Any:
        counter = self._message_counters.get(route)
        if counter is None:
            counter = self._message_counters[route] = self.metrics.messages.labels(route)
        return counter

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A bug, not a handler failure (those are IntegrationErrors, recorded): say it loudly.
            logger.error("gateway task failed", exc_info=task.exception())

    # -- connections -------------------------------------------------------------------------------

    def connection(self, connection_id: str) -> Connection | None:
        """The connection with this id, in any state before closed, or None."""
        return self._connections.get(connection_id)

    def connections(self) -> list[Connection]:
        """Open (and closing) connections, oldest first."""
        return [c for c in self._connections.values() if c.state is not ConnectionState.CONNECTING]

    def open_connection_ids(self) -> list[str]:
        """Ids of the open connections (not connecting, not closing), oldest first."""
        return [
            c.connection_id for c in self._connections.values() if c.state is ConnectionState.OPEN
        ]

    def hold_silent(self, connection_ids: Iterable[str]) -> None:
        """Hold connections half-open; used by ``silent_disconnect``.

        Holds are counted: a connection stays silent until every hold on it is released, so
        overlapping faults can end in any order. Ids no longer connected are skipped.
        """
        for connection_id in connection_ids:
            conn = self._connections.get(connection_id)
            if conn is not None:
                conn.silent_holds += 1

    def release_silent(self, connection_ids: Iterable[str]) -> None:
        """Release one :meth:`hold_silent` hold on each connection still there."""
        for connection_id in connection_ids:
            conn = self._connections.get(connection_id)
            if conn is not None and conn.silent_holds > 0:
                conn.silent_holds -= 1

    def describe(self, conn: Connection) -> dict[str, Any]:
        """A connection as ``GET /_wschaos/connections`` lists it."""
        return {
            "connectionId": conn.connection_id,
            "connectedAt": iso_millis(conn.info.connected_at),
            "lastActiveAt": iso_millis(self._wall_ms(conn.last_active)),
            "sourceIp": conn.info.source_ip,
            "messagesIn": conn.messages_in,
            "messagesOut": conn.messages_out,
        }

    # -- handshake ---------------------------------------------------------------------------------

    async def handshake(self, request: HandshakeRequest) -> Handshake:
        """Decide a WebSocket upgrade: rate limit, faults, authorizer, then ``$connect``.

        The upgrade is held while the integration runs; 101 means the shell must upgrade and call
        :meth:`open` (or :meth:`abandon` if the upgrade fails).
        """
        if not self._bucket.take():
            return self._reject(429)
        status = self.faults.reject_status()
        if status is not None:
            return self._reject(status)
        config = self.config
        lower = {name.lower(): value for name, value in request.raw_headers}
        epoch = events.now_ms()
        info = events.ClientInfo(
            connection_id=new_id(),
            connected_at=epoch - 1,
            source_ip=request.source_ip,
            user_agent=lower.get("user-agent"),
            domain_name=request.host,
            stage=config.stage,
            api_id=self.api_id,
        )
        if config.authorizer is not None:
            verdict = await self._authorize(request, info, lower, epoch)
            if not verdict.allowed:
                return self._reject(verdict.status)
            info = replace(info, authorizer=verdict.request_context)
        conn = Connection(info)
        # Known while $connect runs, so a post to it gets 410 rather than 400 (spec §1.1).
        self._connections[info.connection_id] = conn
        try:
            result = await self._run_connect(request, conn, epoch)
        except BaseException:
            self._connections.pop(info.connection_id, None)  # the client left, or a bug
            raise
        if result.status != 101:
            self._connections.pop(info.connection_id, None)
            self.metrics.connects.labels(str(result.status)).inc()
        return result

    def _reject(self, status: int) -> Handshake:
        self.metrics.connects.labels(str(status)).inc()
        return Handshake(status, message=STATUS_MESSAGES.get(status))

    async def _authorize(
        self,
        request: HandshakeRequest,
        info: events.ClientInfo,
        lower: dict[str, str],
        epoch: int,
    ) -> auth.AuthVerdict:
        authorizer = self.config.authorizer
        assert authorizer is not None
        query = events.single_map(request.query)
        if auth.missing_identity_source(authorizer.identity_sources, lower, query) is not None:
            return auth.AuthVerdict(401)
        event = events.authorizer_event(
            info,
            raw_headers=request.raw_headers,
            query=request.query,
            request_id=new_id(),
            epoch_ms=epoch,
        )
        try:
            result = await self.runtime.invoke(
                authorizer.handler,
                event,
                budget=self.time.budget(self.config.integration_timeout),
                route=None,
                poster=self.post_to_connection,
            )
        except IntegrationError as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            verdict = auth.verdict_for_exception(cause)
            if verdict.status != 401:
                self.record_failure(exc)
            return verdict
        return auth.verdict_for_result(result, events.method_arn(self.api_id, self.config.stage))

    async def _run_connect(
        self, request: HandshakeRequest, conn: Connection, epoch: int
    ) -> Handshake:
        spec = self.config.routes.get("$connect") if self.config.routes else None
        if spec is None:
            return Handshake(101, conn)
        trace = f"Root=1-{epoch // 1000:08x}-{os.urandom(12).hex()}"
        headers = events.forwarded_headers(
            request.raw_headers,
            host=request.host,
            source_ip=request.source_ip,
            port=request.port,
            proto=request.proto,
            trace_id=trace,
        )
        event = events.connect_event(
            conn.info, headers=headers, query=request.query, request_id=new_id(), epoch_ms=epoch
        )
        try:
            result = await self.invoke(spec, "$connect", event)
        except IntegrationTimeout as exc:
            self.record_failure(exc)  # UNCERTAIN on AWS (spec §1.1): probably a 504
            return Handshake(504, message=STATUS_MESSAGES[504])
        except IntegrationError as exc:
            self.record_failure(exc)
            return Handshake(502, message=STATUS_MESSAGES[502])
        verdict = connect_verdict(result)
        if verdict.malformed:
            self.record_failure(
                IntegrationError(f"{spec} returned a malformed proxy result: {result!r}")
            )
            return Handshake(502, message=STATUS_MESSAGES[502])
        if verdict.status != 101:
            return Handshake(verdict.status)
        return Handshake(101, conn, subprotocol=verdict.subprotocol)

    def open(self, conn: Connection, channel: Channel) -> None:
        """The upgrade succeeded: the connection is open and its timers run."""
        now = self.loop.time()
        conn.channel = channel
        conn.state = ConnectionState.OPEN
        conn.opened_at = conn.last_active = now
        self.last_connection_id = conn.connection_id
        self.metrics.connects.labels("101").inc()
        self.metrics.connections.inc()
        self.reaper.arm(conn)

    def abandon(self, conn: Connection) -> None:
        """The upgrade failed after ``$connect`` accepted (the client went away)."""
        self._connections.pop(conn.connection_id, None)

    def _expire(self, conn: Connection, cause: str) -> None:
        """The reaper's verdict: the idle timeout or the 2-hour limit, both 1001 (spec §4)."""
        self.close(conn, CloseCode.GOING_AWAY, REASONS[CloseCode.GOING_AWAY], cause)

    # -- inbound -----------------------------------------------------------------------------------

    def receive_text(self, conn: Connection, text: str) -> Awaitable[None] | None:
        """A text message from the client: route it and run its integration in the background.

        Returns:
            None to go on reading; or, when the connection has too many messages in flight, an
            awaitable the shell must await before reading the next frame (back-pressure).
        """
        if conn.silent or conn.state is not ConnectionState.OPEN:
            return None
        conn.messages_in += 1
        conn.last_active = self.loop.time()
        route = select_route(self._selector, text, self._routes)
        self._message_counter(route or NO_ROUTE).inc()
        conn.in_flight += 1
        self.start(self._dispatch(conn, route, text))
        return self._drained(conn) if conn.in_flight >= MAX_IN_FLIGHT else None

    async def _drained(self, conn: Connection) -> None:
        # Bounded: every dispatch ends within the integration budget plus its reply's write (a
        # write to a closed socket fails at once), and a close by the gateway ends it at once.
        # A client that vanishes meanwhile is noticed once reading resumes: its $disconnect is
        # late, as AWS's may be (spec §1.3).
        if conn.in_flight <= MAX_IN_FLIGHT // 2 or conn.state is not ConnectionState.OPEN:
            return
        conn.drained = asyncio.Event()
        try:
            await conn.drained.wait()
        finally:
            conn.drained = None

    @staticmethod
    def _resume_reading(conn: Connection) -> None:
        if conn.drained is not None:
            conn.drained.set()

    def receive_ping(self, conn: Connection) -> bool:
        """A protocol ping: whether to answer it (not while silent). API Gateway answers pings
        itself; they count as activity only with ``ping_frames_reset_idle``."""
        if conn.silent:
            return False
        if self.config.ping_frames_reset_idle:
            conn.last_active = self.loop.time()
        return True

    async def _dispatch(self, conn: Connection, route: str | None, body: str) -> None:
        try:
            await self._answer(conn, route, body)
        finally:
            conn.in_flight -= 1
            if conn.in_flight <= MAX_IN_FLIGHT // 2:
                self._resume_reading(conn)

    async def _answer(self, conn: Connection, route: str | None, body: str) -> None:
        """Run one message's integration and send what AWS would send back: the Forbidden frame
        (no route), the body of a two-way route, or an error frame (spec §2.2, §2.3)."""
        request_id = new_id()
        text: str | None
        if route is None:
            text = error_frame("Forbidden", conn.connection_id, request_id)
        else:
            event = events.message_event(
                conn.info,
                route,
                body,
                message_id=new_id(),
                request_id=request_id,
                epoch_ms=events.now_ms(),
            )
            try:
                result = await self.invoke(self._routes[route], route, event)
            except IntegrationTimeout as exc:
                self.record_failure(exc)
                text = error_frame("Endpoint request timed out", conn.connection_id, request_id)
            except IntegrationError as exc:
                self.record_failure(exc)
                text = error_frame("Internal server error", conn.connection_id, request_id)
            else:
                # Only two-way routes (a $default route response) send the handler's body back.
                text = route_response(result) if route in self._two_way else None
        if text is None:
            return
        send = self._reply(conn, route, text)
        if send is not None:
            await send

    async def invoke(self, spec: str, route: str, event: dict[str, Any]) -> Any:
        """Run the integration ``spec`` of ``route`` (a route key, or ``METHOD /path`` of the REST
        API) under the integration budget and the ``stall_integrations`` fault.

        Raises:
            IntegrationTimeout: past the budget.
            IntegrationError: the handler raised or could not be loaded.
        """
        return await self.runtime.invoke(
            spec,
            event,
            budget=self._budget,
            route=route,
            poster=self.post_to_connection,
            stall=self.faults.stall(route) if self.faults.active else 0.0,
        )

    def record_failure(self, exc: IntegrationError) -> None:
        """Keep an integration failure for tests (:attr:`handler_errors`) and log it (the
        WebSocket and REST shells alike)."""
        self.handler_errors.append(exc)
        logger.warning(
            "%s", exc, exc_info=exc.__cause__ if not isinstance(exc, IntegrationTimeout) else None
        )

    # -- outbound ----------------------------------------------------------------------------------

    def _outbound(
        self, conn: Connection, text: str, route: str | None
    ) -> Coroutine[Any, Any, None] | None:
        """The send of ``text`` to ``conn`` after reply faults, or None if nothing is sent."""
        if conn.silent or conn.channel is None:
            return None
        if self.faults.active:
            if self.faults.drops_reply(route):
                return None
            delay = self.faults.reply_delay(route)
            if delay > 0:
                return self._send_later(conn, text, delay)
        return conn.channel.send(text)

    async def _send_later(self, conn: Connection, text: str, delay: float) -> None:
        """The ``delay_replies`` fault: send after ``delay`` real seconds if still open."""
        await asyncio.sleep(delay)
        if conn.state is ConnectionState.OPEN and conn.channel is not None:
            await conn.channel.send(text)

    def _reply(
        self, conn: Connection, route: str | None, text: str
    ) -> Coroutine[Any, Any, None] | None:
        """A message to the client (a route response, an error frame, a post): counts as
        activity, subject to reply faults.

        Returns:
            The send to await, or None when nothing is to be sent.
        """
        if conn.state is not ConnectionState.OPEN:
            return None
        conn.messages_out += 1
        conn.last_active = self.loop.time()
        return self._outbound(conn, text, route)

    # -- @connections operations (spec §6) ---------------------------------------------------------

    def _require_open(self, connection_id: str) -> Connection:
        if not is_connection_id(connection_id):
            raise BadRequestException(f"Invalid connectionId: {connection_id}")
        conn = self._connections.get(connection_id)
        if conn is None or conn.state is not ConnectionState.OPEN:
            raise GoneException()
        if self.faults.active and self.faults.is_gone(connection_id):
            raise GoneException()
        return conn

    def post_to_connection(
        self, connection_id: str, data: bytes, *, route: str | None = None
    ) -> Awaitable[None] | None:
        """PostToConnection: send ``data`` to a connection as a text frame.

        The checks run at once; the write runs as a task, returned so the caller may await it
        (None when a fault swallowed the message). Counts as activity for the idle timer.

        Args:
            connection_id: the target.
            data: the payload (UTF-8; invalid bytes are replaced).
            route: the route whose handler posts (for reply faults), or None.

        Raises:
            BadRequestException: a malformed id.
            GoneException: closed, unknown or still connecting (or the ``gone`` fault).
            PayloadTooLargeException: over ``limits.message_bytes``.
        """
        conn = self._require_open(connection_id)
        limit = self.config.limits.message_bytes
        if len(data) > limit:
            raise PayloadTooLargeException(f"Message size exceeds the limit of {limit} bytes")
        send = self._reply(conn, route, data.decode("utf-8", "replace"))
        return None if send is None else self.spawn(send)

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """GetConnection: AWS's JSON (``connectedAt``, ``identity``, ``lastActiveAt``)."""
        conn = self._require_open(connection_id)
        return {
            "connectedAt": iso_millis(conn.info.connected_at),
            "identity": conn.info.identity,
            "lastActiveAt": iso_millis(self._wall_ms(conn.last_active)),
        }

    def delete_connection(self, connection_id: str) -> None:
        """DeleteConnection: close with 1000 "Connection Closed Normally"."""
        conn = self._require_open(connection_id)
        self.close(conn, CloseCode.NORMAL_CLOSURE, REASONS[CloseCode.NORMAL_CLOSURE], "deleted")

    # -- closing -----------------------------------------------------------------------------------

    def _start_closing(
        self, conn: Connection, code: int, reason: str, cause: str
    ) -> Channel | None:
        """Mark an open connection as closing with its close details: its channel, to close;
        None if it was not open (closing twice does nothing)."""
        if conn.state is not ConnectionState.OPEN:
            return None
        conn.state = ConnectionState.CLOSING
        conn.close_code, conn.close_reason, conn.close_cause = int(code), reason, cause
        self._resume_reading(conn)  # the client's close frame must be read
        assert conn.channel is not None
        return conn.channel

    def close(self, conn: Connection, code: int, reason: str, cause: str) -> None:
        """The gateway closes a connection with ``code`` and ``reason``.

        Args:
            cause: the disconnect metric's reason label (``idle_timeout``, ``deleted``, …).
        """
        channel = self._start_closing(conn, code, reason, cause)
        if channel is None:
            return
        if conn.silent:
            channel.abort()  # a half-open client never receives the close frame
            return
        handshake = channel.close(int(code), reason)
        if handshake is not None:
            self.spawn(handshake)

    def abort(self, conn: Connection, cause: str) -> None:
        """Drop a connection's TCP without a close frame (the client sees 1006)."""
        channel = self._start_closing(conn, CloseCode.ABNORMAL_CLOSURE, "", cause)
        if channel is not None:
            channel.abort()

    def closed(self, conn: Connection, code: int, reason: str, cause: str) -> None:
        """The socket is gone. ``code``/``reason``/``cause`` describe a close the gateway did not
        start (the client's close frame, a protocol error, a lost connection)."""
        if conn.state is ConnectionState.CLOSED:
            return
        if conn.close_code is None:
            conn.close_code, conn.close_reason, conn.close_cause = code, reason, cause
        was_open = conn.state is not ConnectionState.CONNECTING
        conn.state = ConnectionState.CLOSED
        self._connections.pop(conn.connection_id, None)
        self.reaper.disarm(conn)
        waiter = self._closed_waiters.pop(conn.connection_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not was_open:
            return
        self.metrics.connections.dec()
        self.metrics.disconnects.labels(conn.close_cause or "client").inc()
        spec = (self.config.routes or {}).get("$disconnect")
        if spec is not None:
            self.spawn(self._run_disconnect(spec, conn))

    async def _run_disconnect(self, spec: str, conn: Connection) -> None:
        event = events.disconnect_event(
            conn.info,
            status_code=conn.close_code if conn.close_code is not None else 1006,
            reason=conn.close_reason,
            request_id=new_id(),
            epoch_ms=events.now_ms(),
        )
        try:
            await self.invoke(spec, "$disconnect", event)  # the result is ignored, as on AWS
        except IntegrationError as exc:
            self.record_failure(exc)

    async def wait_closed(self, connection_ids: Iterable[str], timeout: float) -> None:
        """Wait (at most ``timeout`` real seconds) until these connections are closed."""
        waits = []
        for connection_id in connection_ids:
            if connection_id in self._connections:
                waiter = self._closed_waiters.get(connection_id)
                if waiter is None:
                    waiter = self._closed_waiters[connection_id] = self.loop.create_future()
                waits.append(waiter)
        if waits:
            await asyncio.wait(waits, timeout=timeout)

    async def close_all(
        self,
        code: int,
        reason: str,
        *,
        abrupt: bool = False,
        cause: str = "fault",
        timeout: float = 5.0,
    ) -> list[str]:
        """Close every open connection (a deploy, a restart) and wait for them to go.

        Returns:
            The ids closed.
        """
        targets = [c for c in self._connections.values() if c.state is ConnectionState.OPEN]
        for conn in targets:
            if abrupt:
                self.abort(conn, cause)
            else:
                self.close(conn, code, reason, cause)
        ids = [c.connection_id for c in targets]
        await self.wait_closed(ids, timeout)
        return ids

    # -- the running API ---------------------------------------------------------------------------

    def _derive(self, config: ApiConfig) -> None:
        # What every message needs, worked out once per config rather than per message.
        self._selector = config.selector
        self._routes: Mapping[str, str] = config.routes or {}
        self._two_way = frozenset(config.two_way_routes or ())
        self._budget = self.time.budget(config.integration_timeout)
        self.reaper.set_limits(
            self.time.duration(config.idle_timeout),
            self.time.duration(config.max_connection_duration),
        )

    def apply_config(self, config: ApiConfig) -> None:
        """Change the running API; timers of live connections follow the new durations."""
        self.config = config
        self._derive(config)
        self._bucket.set_rate(config.limits.new_connections_per_second)
        for conn in self._connections.values():
            if conn.state is ConnectionState.OPEN:
                self.reaper.arm(conn)

    async def reset(self) -> None:
        """Clear faults, close all connections, run the reset hooks, restore the config."""
        self.faults.clear()
        await self.close_all(CloseCode.GOING_AWAY, REASONS[CloseCode.GOING_AWAY])
        for hook in self.reset_hooks:
            hook(self)
        self.apply_config(self.base_config)
        self._bucket = TokenBucket(self.base_config.limits.new_connections_per_second)
        self.last_connection_id = None

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Close every connection with 1001 "Going away", then stop background work.

        Clients get :data:`_SHUTDOWN_LINGER` real seconds (at most ``timeout``) to answer the
        close frame before their TCP connection is closed anyway; ``$disconnect`` handlers and
        other gateway tasks then get up to a second more before they are cancelled.
        """
        self.faults.clear()
        linger = min(timeout, _SHUTDOWN_LINGER)
        await self.close_all(
            CloseCode.GOING_AWAY, REASONS[CloseCode.GOING_AWAY], cause="fault", timeout=linger
        )
        stragglers = []
        for conn in list(self._connections.values()):
            if conn.channel is not None:  # its close frame went out; it did not answer in time
                conn.channel.drop()
                stragglers.append(conn.connection_id)
        await self.wait_closed(stragglers, linger)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=min(timeout, 1.0))
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)  # let them see the cancellation
        self.runtime.close()
