"""How to inject a fault while the client is busy, and bring your own client on any loop scope.

``wschaos_background`` runs chaos concurrently with the test: ``after(delay, awaitable)`` starts
it later without blocking the test, and whatever it raises is raised at teardown, so a fault that
could not be applied never passes silently. The emulator and Toxiproxy control run on their own
threads, so ``wschaos_emulator`` and ``wschaos_proxies`` work with any pytest-asyncio loop scope.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from chaos.testing import Background, Proxies
from client import ConnectionState, ResilientWebSocketClient

pytestmark = pytest.mark.parametrize("wschaos_time_scale", [60])


async def test_a_cut_while_a_query_is_in_flight_is_answered_over_rest(
    wschaos_client_factory: Callable[..., ResilientWebSocketClient],
    wschaos_proxies: Proxies,
    wschaos_background: Background,
):
    # A query may wait 10 s (600 s at N=60) for its result over the WebSocket.
    client = wschaos_client_factory(query_timeout=600)
    assert await client.ensure_connection()
    # Replies take 2 s, so the cut at 50 ms lands while the query waits for its result.
    await wschaos_proxies.add_toxic("websocket", "latency", {"latency": 2000})
    wschaos_background.after(0.05, wschaos_proxies.cut("websocket"))

    result = await client.send_query("DynamoDB spend")

    assert result.transport == "rest"


@pytest.mark.asyncio(loop_scope="module")
async def test_your_own_client_on_a_module_scoped_loop(wschaos_proxies: Proxies):
    async with ResilientWebSocketClient(
        wschaos_proxies.ws_url, rest_url=wschaos_proxies.rest_url, time_scale=60
    ) as client:
        assert await client.ensure_connection()
        dropped = asyncio.Event()
        client.subscribe(lambda change: change.old is ConnectionState.CONNECTED and dropped.set())
        await wschaos_proxies.cut("all")
        async with asyncio.timeout(10):
            await dropped.wait()  # the cut dropped the connection
        await wschaos_proxies.restore("all")
        result = await client.send_query("EC2 spend")

    assert result.transport == "websocket"
