"""Every row of the client's state table (design §7), driven from outside against the real emulator.

Events come from the emulator's control API (closes, faults), its @connections API, a stopped
server, a refused port and a wrong stage, never from inside the client.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client import CollectorRegistry

from client import ConnectionState, QueryFailed, ResilientWebSocketClient, status_text
from emulator import ApiConfig, EmulatorServer

if TYPE_CHECKING:
    from conftest import Recorder

S = ConnectionState
SCALE = 600.0
CONNECTING = status_text(S.CONNECTING)
CONNECTED = status_text(S.CONNECTED)
DISCONNECTED = status_text(S.DISCONNECTED)
FAILED = status_text(S.FAILED)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


class WholeWindow(random.Random):
    """A jitter source that always picks the top of the window: backoffs become exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def connected(
    make_client: Callable[..., tuple[ResilientWebSocketClient, Recorder]], **options: Any
) -> tuple[ResilientWebSocketClient, Recorder]:
    """A client from ``make_client(**options)``, connected."""
    client, recorder = make_client(**options)
    assert await client.ensure_connection() is True
    return client, recorder


# Row: any state, close frame received -> DISCONNECTED, reconnect lazily -------------------------


@pytest.mark.parametrize("how", ["going_away", "delete_connections", "close_all", "idle_timeout"])
async def test_close_frame_disconnects_and_the_next_query_reconnects(make_client, control, how):
    client, recorder = await connected(make_client)
    first = await control.only_connection_id()
    if how == "going_away":
        await control.close(first, code=1001, reason="Going away")
    elif how == "delete_connections":
        await control.delete_connection(first)  # 1000 "Connection Closed Normally"
    elif how == "close_all":
        await control.close_all(code=1001, reason="Going away")  # a deploy
    else:
        await control.patch_config(idle_timeout="10m")  # 1 s real at N=600, no heartbeat
    change = await recorder.wait_for(S.DISCONNECTED)
    assert change.text == DISCONNECTED
    expected_code = "1000" if how == "delete_connections" else "1001"
    assert expected_code in change.reason
    # Lazily: no attempt until a query needs one (a bounded look at a quiet client).
    await asyncio.sleep(0.2)
    assert client.status is S.DISCONNECTED
    assert await control.connections() == []
    result = await client.send_query("EC2 spend last month")
    assert result.transport == "websocket"
    assert result.reconnects == 1
    assert recorder.texts == [CONNECTING, CONNECTED, DISCONNECTED, CONNECTING, CONNECTED]
    assert await control.only_connection_id() != first
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_reconnects_total", trigger="query") == 1


async def test_heartbeat_keeps_the_connection_past_the_idle_timeout(make_client, control):
    await control.patch_config(idle_timeout="10m")  # 1 s real
    client, recorder = await connected(make_client, heartbeat_interval=30.0)  # 50 ms real
    first = await control.only_connection_id()
    started = time.monotonic()
    while time.monotonic() - started < 1.6:  # well past the idle timeout
        await asyncio.sleep(0.1)
        assert client.status is S.CONNECTED
    assert await control.only_connection_id() == first
    assert recorder.texts == [CONNECTING, CONNECTED]


# Row: CONNECTED, unclean loss or missed pong -> RECONNECTING 1/3 at once, in the background -------


async def test_abrupt_close_reconnects_in_the_background(make_client, control):
    client, recorder = await connected(make_client)
    first = await control.only_connection_id()
    recorder.clear()
    await control.close(first, abrupt=True)
    lost = await recorder.wait_for(S.RECONNECTING)
    back = await recorder.wait_for(S.CONNECTED)  # no query needed
    assert recorder.texts == ["WebSocket: Reconnecting (1/3)...", CONNECTED]
    assert "without a close frame" in lost.reason
    assert back.at >= lost.at
    assert await control.only_connection_id() != first
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_reconnects_total", trigger="unclean_close") == 1
    assert value(registry, "wschaos_client_reconnect_seconds_count") == 1


@pytest.mark.parametrize("fault", ["silent_disconnect", "drop_pongs"])
async def test_missed_pong_fails_a_half_open_connection(make_client, control, fault):
    client, recorder = await connected(
        make_client,
        heartbeat_interval=30.0,
        pong_timeout=60.0,  # 50 ms; 250 ms floor
    )
    first = await control.only_connection_id()
    if fault == "silent_disconnect":
        await control.fault(type="silent_disconnect")  # only the connection open now
    else:
        await control.fault(type="drop_replies", route="ping")
    change = await recorder.wait_for(S.RECONNECTING)
    assert change.text == "WebSocket: Reconnecting (1/3)..."
    assert "pong" in change.reason
    await control.clear_faults()
    if client.status is not S.CONNECTED:
        recorder.clear()
        await recorder.wait_for(S.CONNECTED)
    ids = [c["connectionId"] for c in await control.connections()]
    assert first not in ids
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_reconnects_total", trigger="pong_timeout") >= 1


# Row: RECONNECTING n, attempt fails -> n+1 after backoff, or FAILED after the last ----------------


async def test_rejected_attempts_count_up_then_fail(make_client, control):
    client, recorder = await connected(make_client)
    await control.fault(type="reject_connections", status=503)
    await control.close(await control.only_connection_id(), abrupt=True)
    await recorder.wait_for(S.FAILED)
    assert recorder.texts == [
        CONNECTING,
        CONNECTED,
        "WebSocket: Reconnecting (1/3)...",
        "WebSocket: Reconnecting (2/3)...",
        "WebSocket: Reconnecting (3/3)...",
        FAILED,
    ]
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_connect_attempts_total", outcome="rejected") == 3
    assert value(registry, "wschaos_client_reconnect_seconds_count") == 0  # never reconnected


async def test_refused_port_fails_after_the_last_attempt_and_the_query_goes_rest(
    make_client, refused_url
):
    client, recorder = make_client(url=refused_url, max_reconnect_attempts=4)
    result = await client.send_query("S3 spend")
    assert result.transport == "rest"
    assert result.reconnects == 4
    assert recorder.texts == [
        CONNECTING,
        "WebSocket: Reconnecting (2/4)...",
        "WebSocket: Reconnecting (3/4)...",
        "WebSocket: Reconnecting (4/4)...",
        FAILED,
    ]
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_connect_attempts_total", outcome="refused") == 4


async def test_handshakes_that_never_answer_time_out_within_the_open_budget(
    make_client, silent_peer
):
    client, recorder = make_client(url=silent_peer.url, open_timeout=60.0)
    started = time.monotonic()
    assert await client.ensure_connection() is False
    assert time.monotonic() - started >= 3 * 0.25  # three attempts, each its 250 ms floor
    assert recorder.texts[-1] == FAILED
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_connect_attempts_total", outcome="timeout") == 3
    assert len(silent_peer.accepted) == 3


async def test_throttled_attempts_back_off_longer(make_client, control):
    # Windows at N=600: base 60 s -> 100 ms; 429 widens them 4x and draws from the upper half.
    timings = {}
    for status in (503, 429):
        await control.clear_faults()
        client, recorder = await connected(
            make_client, backoff_base=60.0, backoff_max=6000.0, rng=WholeWindow()
        )
        await control.fault(type="reject_connections", status=status)
        await control.close(await control.only_connection_id(), abrupt=True)
        await recorder.wait_for(S.FAILED)
        starts = {c.attempt: c.at for c in recorder.changes if c.new is S.RECONNECTING}
        timings[status] = (starts[2] - starts[1], starts[3] - starts[2])
        await client.close()
    # 503: windows 100 ms, 200 ms; 429: 400 ms, 800 ms (WholeWindow picks the top).
    assert timings[503][0] >= 0.1 and timings[503][1] >= 0.2
    assert timings[429][0] >= 0.4 and timings[429][1] >= 0.8
    assert timings[429][1] < 5.0
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_connect_attempts_total", outcome="rejected") == 3


# Row: CONNECTING/RECONNECTING, handshake 401/403 -> FAILED at once, no retry --------------------


async def test_forbidden_handshake_fails_at_once(make_client, emulator):
    base = emulator.ws_url.rstrip("/").rsplit("/", 1)[0]
    client, recorder = make_client(url=f"{base}/no-such-stage")  # 403 {"message":"Forbidden"}
    assert await client.ensure_connection() is False
    assert recorder.texts == [CONNECTING, FAILED]
    assert "403" in recorder.changes[-1].reason
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_connect_attempts_total", outcome="rejected") == 1


# Row: DISCONNECTED/FAILED + send_query -> CONNECTING; REST after fallback_after; attempts go on


async def test_query_waits_fallback_after_then_goes_rest_while_attempts_go_on(make_client, control):
    await control.fault(type="reject_connections", status=503)
    client, recorder = make_client(
        fallback_after=300.0,  # 0.5 s real
        backoff_base=600.0,  # 1 s window, then 2 s: the attempts outlast the fallback
        backoff_max=6000.0,
        max_reconnect_attempts=3,
        rng=WholeWindow(),
    )
    started = time.monotonic()
    result = await client.send_query("RDS spend", query_id="rest-after-fallback")
    elapsed = time.monotonic() - started
    assert result.transport == "rest"
    assert result.query_id == "rest-after-fallback"
    assert await control.ledger() == {"rest-after-fallback": 1}
    assert elapsed >= 0.5
    assert client.status in (S.CONNECTING, S.RECONNECTING)  # attempts go on
    await control.clear_faults()
    await recorder.wait_for(S.CONNECTED)  # the sequence the query started reaches CONNECTED


async def test_query_from_failed_reconnects_over_websocket(make_client, control):
    client, recorder = await connected(make_client)
    await control.fault(type="reject_connections", status=500)
    await control.close(await control.only_connection_id(), abrupt=True)
    await recorder.wait_for(S.FAILED)
    await control.clear_faults()
    recorder.clear()
    result = await client.send_query("Lambda spend")
    assert result.transport == "websocket"
    assert result.reconnects == 1
    assert recorder.texts == [CONNECTING, CONNECTED]


# Row: CONNECTED, no result within query_timeout -> suspect, unclean; REST with the same id -------


async def test_query_without_result_goes_rest_and_the_connection_is_replaced(make_client, control):
    client, recorder = await connected(make_client, query_timeout=60.0)  # 250 ms floor
    first = await control.only_connection_id()
    await control.fault(type="drop_replies", route="finops_query")
    recorder.clear()
    started = time.monotonic()
    result = await client.send_query("EBS spend", query_id="lost-reply")
    assert time.monotonic() - started >= 0.25
    assert (result.transport, result.query_id) == ("rest", "lost-reply")
    assert await control.ledger() == {"lost-reply": 1}  # the REST retry did not run it again
    change = await recorder.wait_for(S.RECONNECTING)
    assert change.text == "WebSocket: Reconnecting (1/3)..."
    await recorder.wait_for(S.CONNECTED)
    assert first not in [c["connectionId"] for c in await control.connections()]
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_reconnects_total", trigger="query") == 1
    assert (
        value(registry, "wschaos_client_queries_total", transport="rest", outcome="answered") == 1
    )


# Row: any state, reconnect() -> drop, reset the counter, CONNECTING at once ----------------------


async def test_manual_reconnect_replaces_a_live_connection(make_client, control):
    client, recorder = await connected(make_client)
    first = await control.only_connection_id()
    assert await client.reconnect() is True
    assert recorder.texts == [CONNECTING, CONNECTED, CONNECTING, CONNECTED]
    assert await control.only_connection_id() != first
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_reconnects_total", trigger="manual") == 1


async def test_manual_reconnect_resets_the_counter_mid_sequence(make_client, control):
    client, recorder = await connected(
        make_client,
        backoff_base=240.0,
        backoff_max=6000.0,
        rng=WholeWindow(),  # windows of 400 ms, then 800 ms
    )
    await control.fault(type="reject_connections", status=503)
    await control.close(await control.only_connection_id(), abrupt=True)
    await recorder.wait_for(S.RECONNECTING, attempt=2)
    assert await client.reconnect() is False  # still rejected: a full fresh sequence, then FAILED
    assert recorder.texts[2:] == [
        "WebSocket: Reconnecting (1/3)...",
        "WebSocket: Reconnecting (2/3)...",
        CONNECTING,
        "WebSocket: Reconnecting (2/3)...",
        "WebSocket: Reconnecting (3/3)...",
        FAILED,
    ]
    await control.clear_faults()
    assert await client.reconnect() is True
    assert client.status_text == CONNECTED


# Stopped server -----------------------------------------------------------------------------------


async def test_stopped_server_ends_queries_in_query_failed_naming_both_transports(make_client):
    server = EmulatorServer(config=None, time_scale=SCALE).start()
    try:
        client, recorder = make_client(url=server.ws_url, rest_url=server.rest_url)
        assert await client.ensure_connection() is True
    finally:
        # Stopped from a thread: the client's loop must keep running to answer the server's
        # closing handshake, as it would against a real deploy.
        await asyncio.to_thread(server.stop)
    # The server is gone, with both of its ports; it said goodbye with 1001.
    change = await recorder.wait_for(S.DISCONNECTED)
    assert "1001" in change.reason
    started = time.monotonic()
    with pytest.raises(QueryFailed) as info:
        await client.send_query("CloudFront spend")
    assert time.monotonic() - started < 5.0
    assert info.value.websocket_error and "refused" in info.value.websocket_error
    assert info.value.rest_error and server.rest_url in info.value.rest_error
    assert recorder.texts[-1] == FAILED


async def test_unauthorized_handshake_fails_at_once(make_client):
    # The authorizer needs a ?token=...; without it API Gateway answers 401 before invoking it.
    config = ApiConfig.from_mapping(
        {
            "authorizer": {
                "handler": "emulator.sample.handlers:connect",
                "identity_sources": ["route.request.querystring.token"],
            }
        }
    )
    with EmulatorServer(config, time_scale=SCALE) as server:
        client, recorder = make_client(url=server.ws_url, rest_url=server.rest_url)
        result = await client.send_query("EC2 spend")
        assert result.transport == "rest"  # FAILED at once; the query did not wait
        assert recorder.texts == [CONNECTING, FAILED]
        assert "401" in recorder.changes[-1].reason
        registry = client.metrics.registry
        assert value(registry, "wschaos_client_connect_attempts_total", outcome="rejected") == 1
        await client.close()
