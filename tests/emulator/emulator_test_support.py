"""Helpers for the emulator's tests: test APIs, websockets and control-API calls, bounded waits.

Time: tests that exercise timers run at N=600 or more (10 minutes take 1 s or less); every wait
is bounded by :data:`SOON` real seconds, generous for a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import json
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
    """Poll ``check`` until it returns something truthy (bounded); returns it."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if result:
                return result
            await asyncio.sleep(interval)


async def control(
    http: aiohttp.ClientSession, server: EmulatorServer, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    """Call the control API: (status, JSON body)."""
    async with http.request(method, f"{server.http_url}/_wschaos{path}", json=body) as response:
        return response.status, await response.json()
