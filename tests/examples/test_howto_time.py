"""How to compress AWS's timeouts: the 10-minute idle timeout in a second.

``wschaos_time_scale`` (N, design §3) divides every configured duration of the emulator and of
the clients the fixtures build: at N=600 the gateway closes an idle connection after 1 s and a
client's 30 s heartbeat runs every 50 ms. Budgets keep a 250 ms real-time floor, so a loaded
machine never fakes a timeout. Set it per test (parametrize), per module or suite (a fixture),
or for a whole run (``WSCHAOS_TIME_SCALE=600``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from client import ConnectionState, ResilientWebSocketClient, StatusChange


@pytest.mark.parametrize("wschaos_time_scale", [600])
async def test_an_idle_connection_is_closed_and_the_next_query_reconnects(
    wschaos_client_factory: Callable[..., ResilientWebSocketClient],
):
    # Without a heartbeat nothing keeps the connection alive, as in the browser seed.
    client = wschaos_client_factory(heartbeat_interval=None)
    closed = asyncio.Event()

    def on_change(change: StatusChange) -> None:
        if change.new is ConnectionState.DISCONNECTED:
            closed.set()

    client.subscribe(on_change)
    assert await client.ensure_connection()

    # 10 idle minutes at N=600 take 1 s of real time; allow plenty for a loaded machine.
    async with asyncio.timeout(10):
        await closed.wait()
    result = await client.send_query("Lambda spend")

    assert result.transport == "websocket"
    assert result.reconnects == 1


@pytest.mark.parametrize("wschaos_time_scale", [3600])
async def test_the_heartbeat_keeps_the_connection_past_the_idle_timeout(
    wschaos_client_factory: Callable[..., ResilientWebSocketClient],
):
    # A pong deadline of 1 s real time, so a loaded machine never looks like a half-open link.
    client = wschaos_client_factory(pong_timeout=3600)
    assert await client.ensure_connection()
    changes: list[StatusChange] = []
    client.subscribe(changes.append)  # a drop and a quick reconnect would leave a trace here

    # Time passing is the point here: 0.5 s at N=3600 is 30 gateway minutes, three idle
    # timeouts, during which only the client's heartbeat (every 30 s = 8 ms) keeps it open.
    await asyncio.sleep(0.5)

    assert changes == []
    assert client.status is ConnectionState.CONNECTED
    result = await client.send_query("CloudFront spend")
    assert result.reconnects == 0
