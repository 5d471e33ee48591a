"""How to test a WebSocket client against the emulator, through Toxiproxy.

``wschaos_client`` is a :class:`client.ResilientWebSocketClient` whose WebSocket and REST URLs go
through this test's Toxiproxy proxies (``wschaos_proxies``), so cutting a proxy is a network cut
and a toxic is a bad network. The emulator behind them serves the built-in sample API.
"""

from __future__ import annotations

import pytest

from chaos.testing import Proxies
from client import ResilientWebSocketClient

# Compress time (design §3): at N=60 the client's 1 s backoff takes 17 ms. Any wschaos
# configuration fixture can be overridden this way, per test or per module.
pytestmark = pytest.mark.parametrize("wschaos_time_scale", [60])


async def test_a_network_cut_falls_back_to_rest_then_recovers(
    wschaos_client: ResilientWebSocketClient, wschaos_proxies: Proxies
):
    assert await wschaos_client.ensure_connection()

    await wschaos_proxies.cut("websocket")
    during = await wschaos_client.send_query("S3 spend during the cut")
    await wschaos_proxies.restore("websocket")
    after = await wschaos_client.send_query("S3 spend after the cut")

    assert during.transport == "rest"
    assert after.transport == "websocket"


async def test_a_query_is_answered_over_the_websocket(wschaos_client: ResilientWebSocketClient):
    result = await wschaos_client.send_query("EC2 spend last month")

    assert result.transport == "websocket"
    assert result.answer["currency"] == "USD"


async def test_replies_slowed_by_a_latency_toxic(
    wschaos_client: ResilientWebSocketClient, wschaos_proxies: Proxies
):
    assert await wschaos_client.ensure_connection()

    # Toxic attributes are Toxiproxy's wire units (here ms) and are never scaled.
    await wschaos_proxies.add_toxic("websocket", "latency", {"latency": 200})
    result = await wschaos_client.send_query("RDS spend")

    assert result.transport == "websocket"
    assert result.latency >= 0.2
