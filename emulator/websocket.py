"""The WebSocket API's aiohttp shell: upgrades, frames and closes (spec §1, §3, §4).

``GET /{stage}`` with an upgrade asks the :class:`~emulator.gateway.Gateway` whether to accept
(the upgrade is held while ``$connect`` runs), then pumps frames: text messages to the gateway,
pings answered here (the gateway says whether), binary and oversized frames refused by the
:class:`~emulator.frames.FrameScanner` with 1003/1009. A GET without an upgrade gets 426, a wrong
stage 403 ``{"message":"Forbidden"}``.

aiohttp only limits assembled messages, so :class:`GatewayWebSocketResponse` puts the frame
scanner in front of aiohttp's frame parser, on the connection's raw byte stream. That hooks three
private names of aiohttp (see the class); :func:`check_aiohttp_support` verifies them when an app
is built, so an aiohttp that moved them stops the emulator at start-up with a clear error instead
of silently letting oversized and binary frames through.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web, web_protocol
from aiohttp.client_exceptions import ClientConnectionResetError

from emulator.exceptions import EmulatorError
from emulator.frames import MAX_REASON_BYTES, CloseCode, FrameScanner, Violation
from emulator.gateway import Gateway, HandshakeRequest
from emulator.models import Connection

__all__ = [
    "GATEWAY",
    "GatewayWebSocketResponse",
    "WebSocketChannel",
    "check_aiohttp_support",
    "websocket_handler",
]


#: The app's gateway.
GATEWAY: web.AppKey[Gateway] = web.AppKey("gateway", Gateway)

# Linux's TCP_CORK (None elsewhere: frames then go out one by one).
_CORK: int | None = getattr(socket, "TCP_CORK", None)

# Real seconds to wait for the client's close frame after sending ours.
_CLOSE_TIMEOUT = 5.0


def forbidden() -> web.Response:
    """API Gateway's answer to a wrong stage or path."""
    return web.json_response({"message": "Forbidden"}, status=403)


class _GuardedParser:
    """aiohttp's frame parser behind a :class:`FrameScanner`: refused frames never reach it.

    It stands in for the parser in ``RequestHandler._payload_parser``, so it offers the two
    methods aiohttp calls there: ``feed_data(data) -> (eof, tail)`` and ``feed_eof()``.
    """

    __slots__ = ("_inner", "_on_violation", "_scanner", "_stopped")

    def __init__(
        self, inner: Any, scanner: FrameScanner, on_violation: Callable[[Violation], None]
    ) -> None:
        self._inner = inner
        self._scanner = scanner
        self._on_violation = on_violation
        self._stopped = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._stopped:
            return False, b""
        passable, violation = self._scanner.feed(data)
        if violation is None:
            if not passable:
                return False, b""
            return self._inner.feed_data(passable)  # type: ignore[no-any-return]
        self._stopped = True
        if passable:
            self._inner.feed_data(passable)
        self._on_violation(violation)
        return False, b""

    def feed_eof(self) -> None:
        self._inner.feed_eof()


class GatewayWebSocketResponse(web.WebSocketResponse):
    """A WebSocketResponse whose incoming bytes pass a :class:`FrameScanner` first.

    Why private aiohttp names: API Gateway judges each *frame* (over 32 KB: 1009; binary: 1003)
    before it buffers the message, and aiohttp's public surface only sees assembled messages.
    ``max_msg_size`` cannot tell a 40 KB frame from a 40 KB message in two frames, lets a binary
    message be buffered whole before it is refused, and accepts unmasked client frames; there is
    no public hook on the raw byte stream. So :meth:`_post_start` (aiohttp's step that installs
    the frame parser, ``RequestHandler.set_parser``) wraps the parser it installed, found in
    ``RequestHandler._payload_parser``, and routes the bytes that came with the upgrade
    (``RequestHandler._message_tail``) through the scanner as well. These names have been stable
    across aiohttp 3.x and 4.0 development; :func:`check_aiohttp_support` checks them at start-up.

    Args:
        scanner: checks each frame header against the live limits.
        on_violation: called once with the :class:`~emulator.frames.Violation`.
    """

    def __init__(
        self,
        *,
        scanner: FrameScanner,
        on_violation: Callable[[Violation], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._scanner = scanner
        self._on_violation = on_violation

    def _post_start(self, request: Any, protocol: Any, writer: Any) -> None:
        # aiohttp installs its parser here and feeds it any bytes that arrived with the upgrade;
        # hold those back, wrap the parser, then feed them through the scanner too.
        handler = request.protocol
        tail = handler._message_tail
        handler._message_tail = b""
        super()._post_start(request, protocol, writer)
        inner = handler._payload_parser
        if inner is None or not callable(getattr(inner, "feed_data", None)):
            raise EmulatorError(_unsupported("no frame parser was installed by _post_start"))
        guarded = _GuardedParser(inner, self._scanner, self._on_violation)
        handler._payload_parser = guarded
        if tail:
            guarded.feed_data(tail)


def _unsupported(problem: str) -> str:
    return (
        f"aiohttp {aiohttp.__version__} is not supported by the emulator's frame guard: "
        f"{problem}; use an aiohttp 3.x release this emulator was tested with"
    )


def check_aiohttp_support() -> None:
    """Check that aiohttp still has what :class:`GatewayWebSocketResponse` hooks.

    Raises:
        EmulatorError: naming the aiohttp version and what is missing.
    """
    post_start = getattr(web.WebSocketResponse, "_post_start", None)
    if post_start is None:
        raise EmulatorError(_unsupported("WebSocketResponse._post_start is gone"))
    params = list(inspect.signature(post_start).parameters)
    if params != ["self", "request", "protocol", "writer"]:
        raise EmulatorError(
            _unsupported(f"WebSocketResponse._post_start takes {params}, not the expected ones")
        )
    handler = web_protocol.RequestHandler
    for name in ("_payload_parser", "_message_tail", "set_parser"):
        if not hasattr(handler, name):
            raise EmulatorError(_unsupported(f"RequestHandler.{name} is gone"))


class WebSocketChannel:
    """The :class:`~emulator.models.Channel` of one aiohttp WebSocket.

    A close from the gateway follows RFC 6455 §7.1: send the close frame, keep reading until the
    client's close frame comes back (at most :data:`_CLOSE_TIMEOUT`), then drop TCP. Closing TCP
    at once while the client is still sending would make the kernel answer with a reset that can
    destroy the close frame before the client reads it.

    Attributes:
        linger: wait for the client's close frame; False after a refused frame, since nothing the
            client sends is parsed any more.
    """

    __slots__ = ("_closing", "_corked", "_peer_closed", "_request", "linger", "ws")

    def __init__(self, request: web.Request) -> None:
        self._request = request
        self.ws: web.WebSocketResponse | None = None
        self._closing = False
        self._peer_closed: asyncio.Event | None = None
        self._corked = False
        self.linger = True

    def _cork(self) -> None:
        """Hold outgoing segments until the loop's current batch of work is done.

        Replies to a burst of messages are written one frame at a time; corked, the kernel sends
        them together and wakes the client once, instead of once per frame.
        """
        sock = self._request.transport.get_extra_info("socket") if self._request.transport else None
        if sock is None:
            return
        try:
            sock.setsockopt(socket.IPPROTO_TCP, _CORK, 1)
        except OSError:
            return
        self._corked = True
        asyncio.get_running_loop().call_soon(self._uncork, sock)

    def _uncork(self, sock: socket.socket) -> None:
        self._corked = False
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _CORK, 0)

    @property
    def closing(self) -> bool:
        """Whether the gateway started closing (the client's close frame needs no echo)."""
        return self._closing

    async def send(self, text: str) -> None:
        """Write one text frame; a socket that is going away is not an error (see Channel)."""
        ws = self.ws
        if self._closing or ws is None or ws.closed:
            return
        if not self._corked and _CORK is not None:
            self._cork()
        # A socket that is going away raises; the receive loop reports the close.
        with contextlib.suppress(ClientConnectionResetError, ConnectionError, RuntimeError):
            await ws.send_str(text)

    def close(self, code: int, reason: str) -> Coroutine[Any, Any, None] | None:
        """Start the close handshake; the returned coroutine completes it (see Channel)."""
        if self._closing:
            return None
        self._closing = True
        self._peer_closed = asyncio.Event()
        return self._close(code, reason)

    async def _close(self, code: int, reason: str) -> None:
        assert self.ws is not None and self._peer_closed is not None
        # A longer reason would make an invalid control frame; cut it on a character boundary.
        text = reason.encode("utf-8")[:MAX_REASON_BYTES].decode("utf-8", "ignore")
        payload = code.to_bytes(2, "big") + text.encode("utf-8")
        try:
            await self.ws.send_frame(payload, WSMsgType.CLOSE)
            if self.linger:
                await asyncio.wait_for(self._peer_closed.wait(), _CLOSE_TIMEOUT)
        except (TimeoutError, ClientConnectionResetError, ConnectionError, RuntimeError):
            pass  # no answer in time, or the socket is already gone
        self.drop()

    def peer_closed(self) -> None:
        """The client's close frame arrived, or its TCP connection went away."""
        if self._peer_closed is not None:
            self._peer_closed.set()

    def drop(self) -> None:
        """Close TCP (after whatever is buffered is written)."""
        transport = self._request.transport
        if transport is not None:
            transport.close()

    def abort(self) -> None:
        """Reset TCP without a close frame (the client sees 1006)."""
        self._closing = True
        transport = self._request.transport
        if transport is not None:
            transport.abort()


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """``GET /{stage}``: the WebSocket API."""
    gateway = request.app[GATEWAY]
    if request.match_info["stage"] != gateway.config.stage:
        return forbidden()
    if request.headers.get("Upgrade", "").lower() != "websocket":
        return web.json_response(
            {"message": "Upgrade Required"}, status=426, headers={"Upgrade": "websocket"}
        )
    if not web.WebSocketResponse().can_prepare(request).ok:
        return web.json_response({"message": "Bad WebSocket handshake"}, status=400)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    decision = await gateway.handshake(
        HandshakeRequest(
            raw_headers=tuple(
                (name.decode("latin-1"), value.decode("latin-1"))
                for name, value in request.raw_headers
            ),
            query=tuple(request.rel_url.query.items()),
            source_ip=request.remote or "",
            host=request.host,
            port=sockname[1] if sockname else 0,
            proto="https" if request.secure else "http",
        )
    )
    if decision.status != 101 or decision.connection is None:
        body = {} if decision.message is None else {"message": decision.message}
        return web.json_response(body, status=decision.status)
    conn = decision.connection
    channel = WebSocketChannel(request)
    refused: list[Violation] = []

    def limits() -> tuple[int, int]:
        current = gateway.config.limits
        return current.frame_bytes, current.message_bytes

    def refuse(violation: Violation) -> None:
        channel.linger = False  # nothing more from this client is parsed
        if conn.channel is None:
            refused.append(violation)  # it arrived with the upgrade: close once open
        else:
            gateway.close(conn, violation.code, violation.reason, "error")

    ws = GatewayWebSocketResponse(
        scanner=FrameScanner(limits),
        on_violation=refuse,
        protocols=(decision.subprotocol,) if decision.subprotocol else (),
        autoping=False,  # pings are answered below, as the gateway decides
        autoclose=False,  # the close echo is ours too (a silent connection never answers)
        compress=False,
        max_msg_size=0,  # the frame scanner enforces the (live) limits
        timeout=_CLOSE_TIMEOUT,
    )
    try:
        await ws.prepare(request)
    except BaseException:  # the client left during $connect, or the handler was cancelled
        gateway.abandon(conn)
        raise
    channel.ws = ws
    gateway.open(conn, channel)
    if refused:
        gateway.close(conn, refused[0].code, refused[0].reason, "error")
    await _pump(gateway, conn, ws, channel)
    return ws


async def _pump(
    gateway: Gateway, conn: Connection, ws: web.WebSocketResponse, channel: WebSocketChannel
) -> None:
    """Feed the gateway until the socket closes, then report how it closed."""
    code, reason, cause = CloseCode.ABNORMAL_CLOSURE, "", "client"
    try:
        while True:
            msg = await ws.receive()
            kind = msg.type
            if kind is WSMsgType.TEXT:
                backlog = gateway.receive_text(conn, msg.data)
                if backlog is not None:
                    await backlog  # too many messages in flight: stop reading for a while
            elif kind is WSMsgType.PING:
                if gateway.receive_ping(conn):
                    with contextlib.suppress(ClientConnectionResetError, ConnectionError):
                        await ws.pong(msg.data)
            elif kind is WSMsgType.PONG:
                continue
            elif kind is WSMsgType.BINARY:  # the scanner normally refuses these first
                gateway.close(
                    conn, CloseCode.UNSUPPORTED_DATA, "Binary frames are not supported", "error"
                )
            elif kind is WSMsgType.CLOSE:
                code, reason = msg.data, msg.extra or ""
                if channel.closing:
                    channel.peer_closed()  # the answer to our close frame
                elif conn.silent:
                    # A half-open gateway never answers the client's close frame.
                    gateway.abort(conn, "client")
                    code, reason = CloseCode.ABNORMAL_CLOSURE, ""
                else:
                    # Echo the client's code (RFC 6455 §5.5.1); 1005 means it sent none.
                    echo = (
                        CloseCode.NORMAL_CLOSURE if code == CloseCode.NO_STATUS_RECEIVED else code
                    )
                    await ws.close(code=echo, drain=False)
                break
            elif kind is WSMsgType.ERROR:
                code = ws.close_code or CloseCode.ABNORMAL_CLOSURE
                cause = "error"
                break
            else:  # CLOSING / CLOSED: our own close, or the TCP connection went away
                break
    except asyncio.CancelledError:
        code, reason, cause = CloseCode.GOING_AWAY, "Going away", "fault"
        raise
    finally:
        try:
            channel.peer_closed()
            if channel.closing:
                channel.drop()
            elif not ws.closed:
                with contextlib.suppress(Exception):  # the peer may be gone already
                    await asyncio.shield(ws.close())
        finally:
            # Even if cancelled again while closing: the gateway must forget the connection.
            gateway.closed(conn, int(code), reason, cause)
