"""The emulated API Gateway: connections, routes, integrations, timers and faults (no aiohttp).

:class:`Gateway` is the model behind both ports. The aiohttp shells feed it what they see (a
handshake, a text message, a ping, a close) and it decides what happens, calling back through each
connection's :class:`~emulator.models.Channel`. It also carries the @connections operations
(:meth:`Gateway.post_to_connection`, :meth:`Gateway.get_connection`,
:meth:`Gateway.delete_connection`), which raise the AWS errors of :mod:`emulator.exceptions`;
unknown ids are never created.

Timing (design §3): configured durations (idle timeout, max duration, fault delays) are divided by
the time scale; the integration timeout is a processing budget, so it also gets the real-time floor.
Each open connection has one timer handle, set for the earlier of its idle and max-duration
deadlines; activity only updates a timestamp, and the handle re-arms itself when it fires early.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import time
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
from emulator.routing import select_route
from emulator.timing import TimeScale

__all__ = ["Gateway", "Handshake", "HandshakeRequest"]

log = logging.getLogger("emulator.gateway")

# A timer may fire a hair early (clock resolution); a deadline this close counts as reached.
_SLACK = 0.001

# Bodies of handshake rejections the gateway itself decides.
_STATUS_MESSAGES = {
    401: "Unauthorized",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal server error",
    502: "Internal server error",
    503: "Service Unavailable",
    504: "Endpoint request timed out",
}


def error_frame(message: str, connection_id: str, request_id: str) -> str:
    """An API Gateway error frame, byte for byte as AWS sends it (spec §2.2)."""
    return (
        f'{{"message": "{message}", "connectionId":"{connection_id}", "requestId":"{request_id}"}}'
    )


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


class _TokenBucket:
    """Handshakes per second with a one-second burst; rate None = unlimited."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._tokens = rate or 0.0
        self._stamp = time.monotonic()

    def take(self) -> bool:
        if self.rate is None:
            return True
        now = time.monotonic()
        self._tokens = min(self.rate, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


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
        self._bucket = _TokenBucket(config.limits.new_connections_per_second)
        self._derive(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clock0 = (0.0, 0)

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

    def _message_counter(self, route: str) -> Any:
        counter = self._message_counters.get(route)
        if counter is None:
            counter = self._message_counters[route] = self.metrics.messages.labels(route)
        return counter

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("gateway task failed", exc_info=task.exception())

    # -- connections -------------------------------------------------------------------------------

    def connection(self, connection_id: str) -> Connection | None:
        """The connection with this id, in any state before closed, or None."""
        return self._connections.get(connection_id)

    def connections(self) -> list[Connection]:
        """Open (and closing) connections, oldest first."""
        return [c for c in self._connections.values() if c.state is not ConnectionState.CONNECTING]

    def open_connection_ids(self) -> list[str]:
        return [
            c.connection_id for c in self._connections.values() if c.state is ConnectionState.OPEN
        ]

    def set_silent(self, connection_ids: Iterable[str], silent: bool) -> None:
        """Hold connections half-open (or release them); used by ``silent_disconnect``."""
        for connection_id in connection_ids:
            conn = self._connections.get(connection_id)
            if conn is not None:
                conn.silent = silent

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
        self._connections[info.connection_id] = conn
        result = await self._run_connect(request, conn, epoch)
        if result.status != 101:
            self._connections.pop(info.connection_id, None)
            self.metrics.connects.labels(str(result.status)).inc()
        return result

    def _reject(self, status: int) -> Handshake:
        self.metrics.connects.labels(str(status)).inc()
        return Handshake(status, message=_STATUS_MESSAGES.get(status))

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
                self._record(exc)
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
            self._record(exc)
            return Handshake(504, message=_STATUS_MESSAGES[504])
        except IntegrationError as exc:
            self._record(exc)
            return Handshake(502, message=_STATUS_MESSAGES[502])
        if result is None:
            return Handshake(101, conn)  # a handler returning nothing is taken as a 200
        status = result.get("statusCode") if isinstance(result, dict) else None
        if isinstance(status, bool) or not isinstance(status, int):
            self._record(IntegrationError(f"{spec} returned a malformed proxy result: {result!r}"))
            return Handshake(502, message=_STATUS_MESSAGES[502])
        if not 200 <= status < 300:
            return Handshake(status)  # AWS returns that status; the body is thrown away
        headers_out = result.get("headers") or {}
        protocol = None
        if isinstance(headers_out, dict):
            protocol = next(
                (str(v) for k, v in headers_out.items() if k.lower() == "sec-websocket-protocol"),
                None,
            )
        return Handshake(101, conn, subprotocol=protocol)

    def open(self, conn: Connection, channel: Channel) -> None:
        """The upgrade succeeded: the connection is open and its timers run."""
        now = self.loop.time()
        conn.channel = channel
        conn.state = ConnectionState.OPEN
        conn.opened_at = conn.last_active = now
        self.last_connection_id = conn.connection_id
        self.metrics.connects.labels("101").inc()
        self.metrics.connections.inc()
        self._arm(conn)

    def abandon(self, conn: Connection) -> None:
        """The upgrade failed after ``$connect`` accepted (the client went away)."""
        self._connections.pop(conn.connection_id, None)

    # -- timers ------------------------------------------------------------------------------------

    def _deadlines(self, conn: Connection) -> tuple[float, float]:
        config = self.config
        return (
            conn.last_active + self.time.duration(config.idle_timeout),
            conn.opened_at + self.time.duration(config.max_connection_duration),
        )

    def _arm(self, conn: Connection) -> None:
        if conn.timer is not None:
            conn.timer.cancel()
        conn.timer = self.loop.call_at(min(self._deadlines(conn)), self._on_timer, conn)

    def _on_timer(self, conn: Connection) -> None:
        conn.timer = None
        if conn.state is not ConnectionState.OPEN:
            return
        idle_deadline, max_deadline = self._deadlines(conn)
        now = self.loop.time() + _SLACK
        if now >= max_deadline:
            self.close(conn, CloseCode.GOING_AWAY, REASONS[CloseCode.GOING_AWAY], "max_duration")
        elif now >= idle_deadline:
            self.close(conn, CloseCode.GOING_AWAY, REASONS[CloseCode.GOING_AWAY], "idle_timeout")
        else:
            self._arm(conn)

    # -- inbound -----------------------------------------------------------------------------------

    def receive_text(self, conn: Connection, text: str) -> None:
        """A text message from the client: route it and run its integration in the background."""
        if conn.silent or conn.state is not ConnectionState.OPEN:
            return
        conn.messages_in += 1
        conn.last_active = self.loop.time()
        route = select_route(self._selector, text, self._routes)
        self._message_counter(route or NO_ROUTE).inc()
        self.start(self._dispatch(conn, route, text))

    def receive_ping(self, conn: Connection) -> bool:
        """A protocol ping: whether to answer it (not while silent). API Gateway answers pings
        itself; they count as activity only with ``ping_frames_reset_idle``."""
        if conn.silent:
            return False
        if self.config.ping_frames_reset_idle:
            conn.last_active = self.loop.time()
        return True

    async def _dispatch(self, conn: Connection, route: str | None, body: str) -> None:
        request_id = new_id()
        if route is None:
            send = self._reply(
                conn, route, error_frame("Forbidden", conn.connection_id, request_id)
            )
            if send is not None:
                await send
            return
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
            self._record(exc)
            text = error_frame("Endpoint request timed out", conn.connection_id, request_id)
        except IntegrationError as exc:
            self._record(exc)
            text = error_frame("Internal server error", conn.connection_id, request_id)
        else:
            # Only two-way routes (a $default route response) send the handler's body back.
            if route not in self._two_way or not isinstance(result, dict):
                return
            reply = result.get("body")
            if reply is None:
                return
            text = reply if isinstance(reply, str) else json.dumps(reply)
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

    def _record(self, exc: IntegrationError) -> None:
        self.handler_errors.append(exc)
        log.warning(
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
        await asyncio.sleep(delay)
        if conn.state is ConnectionState.OPEN and conn.channel is not None:
            await conn.channel.send(text)

    def _reply(
        self, conn: Connection, route: str | None, text: str
    ) -> Coroutine[Any, Any, None] | None:
        """A route response or error frame: counts as activity, subject to reply faults.

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
        conn.messages_out += 1
        conn.last_active = self.loop.time()
        send = self._outbound(conn, data.decode("utf-8", "replace"), route)
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

    def close(self, conn: Connection, code: int, reason: str, cause: str) -> None:
        """The gateway closes a connection with ``code`` and ``reason``.

        Args:
            cause: the disconnect metric's reason label (``idle_timeout``, ``deleted``, …).
        """
        if conn.state is not ConnectionState.OPEN:
            return
        conn.state = ConnectionState.CLOSING
        conn.close_code, conn.close_reason, conn.close_cause = int(code), reason, cause
        assert conn.channel is not None
        if conn.silent:
            conn.channel.abort()  # a half-open client never receives the close frame
        else:
            conn.channel.close(int(code), reason)

    def abort(self, conn: Connection, cause: str) -> None:
        """Drop a connection's TCP without a close frame (the client sees 1006)."""
        if conn.state is not ConnectionState.OPEN:
            return
        conn.state = ConnectionState.CLOSING
        conn.close_code, conn.close_reason, conn.close_cause = (
            CloseCode.ABNORMAL_CLOSURE,
            "",
            cause,
        )
        assert conn.channel is not None
        conn.channel.abort()

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
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
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
            self._record(exc)

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

    def apply_config(self, config: ApiConfig) -> None:
        """Change the running API; timers of live connections follow the new durations."""
        self.config = config
        self._derive(config)
        self._bucket.rate = config.limits.new_connections_per_second
        for conn in self._connections.values():
            if conn.state is ConnectionState.OPEN:
                self._arm(conn)

    async def reset(self) -> None:
        """Clear faults, close all connections, run the reset hooks, restore the config."""
        self.faults.clear()
        await self.close_all(CloseCode.GOING_AWAY, REASONS[CloseCode.GOING_AWAY])
        for hook in self.reset_hooks:
            hook(self)
        self.apply_config(self.base_config)
        self._bucket = _TokenBucket(self.base_config.limits.new_connections_per_second)
        self.last_connection_id = None

    async def shutdown(self, timeout: float = 5.0) -> None:
        """Close every connection with 1001 "Going away", then stop background work."""
        self.faults.clear()
        await self.close_all(
            CloseCode.GOING_AWAY, REASONS[CloseCode.GOING_AWAY], cause="fault", timeout=timeout
        )
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=min(timeout, 1.0))
            for task in still:
                task.cancel()
        self.runtime.close()
