"""Helpers for the emulator's tests: test APIs, websockets and control-API calls, bounded waits.

Time: tests that exercise timers run at N=600 or more (10 minutes take 1 s or less); every wait
is bounded by :data:`SOON` real seconds, generous for a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import os
from collections.abc import Callable
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from emulator import ApiConfig, EmulatorServer

#: Real seconds within which anything that should happen "at once" must happen.
SOON = 5.0
H = "emulator_test_handlers"


def api(**overrides: Any) -> ApiConfig:
    """A test API: echo on ``$default`` and ``echo`` (two-way), recording $connect/$disconnect.

    ``routes`` replaces the routes; ``two_way_routes`` then defaults to those of ``$default`` and
    ``echo`` that remain.
    """
    routes = overrides.pop(
        "routes",
        {
            "$connect": f"{H}:record",
            "$disconnect": f"{H}:record",
            "$default": f"{H}:echo",
            "echo": f"{H}:echo",
        },
    )
    two_way = overrides.pop("two_way_routes", [r for r in ("$default", "echo") if r in routes])
    data = {"routes": routes, "two_way_routes": two_way, **overrides}
    return ApiConfig.from_mapping(data, source="test")


def ws_connect(url: str, **kwargs: Any) -> Any:
    """A websockets client with its keepalive off (protocol pings keep nothing alive on AWS)."""
    kwargs.setdefault("ping_interval", None)
    kwargs.setdefault("open_timeout", SOON)
    kwargs.setdefault("close_timeout", SOON)
    return connect(url, **kwargs)


async def recv(ws: ClientConnection, timeout: float = SOON) -> str:
    async with asyncio.timeout(timeout):
        message = await ws.recv()
    assert isinstance(message, str)
    return message


async def recv_json(ws: ClientConnection, timeout: float = SOON) -> Any:
    return json.loads(await recv(ws, timeout))


async def closed_with(ws: ClientConnection, timeout: float = SOON) -> tuple[int, str]:
    """Wait for the server to close ``ws``: (code, reason) as the client saw them (1006: no
    close frame)."""
    async with asyncio.timeout(timeout):
        await ws.wait_closed()
    frame = ws.protocol.close_rcvd
    return (1006, "") if frame is None else (frame.code, frame.reason)


async def eventually(
    check: Callable[[], Any], timeout: float = SOON, interval: float = 0.005
) -> Any:
    """Poll ``check`` (a function or a coroutine function) until it returns something truthy
    (bounded by ``timeout`` real seconds); returns it."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            await asyncio.sleep(interval)


async def open_ids(server: EmulatorServer, count: int = 1) -> list[str]:
    """Wait (bounded by :data:`SOON`) until exactly ``count`` connections are open: their ids,
    oldest first."""
    return await eventually(
        lambda: (
            (ids := server.call(lambda g: g.open_connection_ids())) and len(ids) == count and ids
        )
    )


async def only_connection(server: EmulatorServer) -> str:
    """The id of the one open connection, once it is open."""
    [connection_id] = await open_ids(server)
    return connection_id


async def raw_upgrade(server: EmulatorServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A hand-made WebSocket handshake on the stage path, so the test can write any bytes it
    likes afterwards (or never answer the gateway): the connection's reader and writer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /prod HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    async with asyncio.timeout(SOON):
        head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


async def control(
    http: aiohttp.ClientSession, server: EmulatorServer, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """Call the control API: (status, JSON body)."""
    async with http.request(method, f"{server.http_url}/_wschaos{path}", json=body) as response:
        return response.status, await response.json()
