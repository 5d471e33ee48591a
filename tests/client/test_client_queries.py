"""Queries, single flight, sizes, bad frames, subscribers and metrics, against the real emulator."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client import CollectorRegistry

from client import ConnectionState, QueryFailed, QueryTooLarge, status_text

S = ConnectionState
CONNECTING = status_text(S.CONNECTING)
CONNECTED = status_text(S.CONNECTED)


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_query_connects_first_and_answers_over_websocket(make_client, control):
    client, recorder = make_client()
    progress: list[str] = []
    result = await client.send_query(
        "EC2 spend last month", query_id="q-first", on_progress=progress.append
    )
    assert result.query_id == "q-first"
    assert result.transport == "websocket"
    assert isinstance(result.answer, dict) and result.answer
    assert result.reconnects == 1  # it waited for the first connection attempt
    assert 0 < result.latency < 5.0
    assert all(isinstance(message, str) for message in progress)
    assert recorder.texts == [CONNECTING, CONNECTED]
    # Connected now: the next query is sent at once.
    again = await client.send_query("S3 spend")
    assert (again.transport, again.reconnects) == ("websocket", 0)
    assert again.query_id != result.query_id


async def test_concurrent_ensure_connection_shares_one_attempt(make_client, control):
    client, recorder = make_client()
    outcomes = await asyncio.gather(*(client.ensure_connection() for _ in range(10)))
    assert outcomes == [True] * 10
    assert len(await control.connections()) == 1
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_connect_attempts_total", outcome="success") == 1
    assert recorder.texts == [CONNECTING, CONNECTED]


async def test_concurrent_queries_on_a_fresh_client_share_one_connection(make_client, control):
    client, _ = make_client()
    results = await asyncio.gather(*(client.send_query(f"query {i}") for i in range(8)))
    assert {r.transport for r in results} == {"websocket"}
    assert len({r.query_id for r in results}) == 8
    assert len(await control.connections()) == 1


async def test_cancelled_caller_does_not_cancel_the_shared_attempt(make_client, control):
    client, recorder = make_client()
    waiter = asyncio.create_task(client.ensure_connection())
    await recorder.wait_for(S.CONNECTING)
    waiter.cancel()
    assert await client.ensure_connection() is True


async def test_large_query_goes_out_in_fragments_the_gateway_accepts(make_client, control):
    client, _ = make_client()
    await client.ensure_connection()
    first = await control.only_connection_id()
    text = "cost " * 20000  # 100 KB: four frames of at most 32 KB
    result = await client.send_query(text)
    assert result.transport == "websocket"
    # The gateway closes frames over 32 KB with 1009; the connection is still the same one.
    assert client.status is S.CONNECTED
    assert await control.only_connection_id() == first


async def test_query_over_128_kb_is_refused_before_sending(make_client, control):
    client, recorder = make_client()
    with pytest.raises(QueryTooLarge) as info:
        await client.send_query("x" * (128 * 1024))
    assert info.value.size > info.value.limit == 131072
    assert recorder.changes == []  # nothing was even connected
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_connect_attempts_total", outcome="success") == 0
    assert (
        value(registry, "wschaos_client_queries_total", transport="websocket", outcome="errored")
        == 1
    )


async def test_unknown_and_malformed_frames_are_ignored(make_client, control, caplog):
    client, recorder = make_client()
    await client.ensure_connection()
    first = await control.only_connection_id()
    for data in (
        "not json at all",
        "[1, 2, 3]",
        '{"type":"result","query_id":"nobody-waits","answer":{}}',
        '{"type":"result","answer":"no id"}',
        '{"message": "Forbidden", "connectionId":"ABAudfcuCGYAd1A=", '
        '"requestId":"ABCO7H6MCGYFxCA="}',
    ):
        await control.backend("post", data=data, connectionId=first)
    result = await client.send_query("after the noise")
    assert result.transport == "websocket"
    assert await control.only_connection_id() == first
    assert recorder.texts == [CONNECTING, CONNECTED]
    assert any("ignored frame" in r.message for r in caplog.records)
    assert any("Forbidden" in r.getMessage() for r in caplog.records)


async def test_query_failed_names_both_transports_and_never_hangs(make_client, refused_url):
    rest_url = refused_url.replace("ws://", "http://")
    client, _ = make_client(url=refused_url, rest_url=rest_url)
    started = time.monotonic()
    with pytest.raises(QueryFailed) as info:
        await client.send_query("anything", query_id="doomed")
    assert time.monotonic() - started < 5.0
    assert info.value.query_id == "doomed"
    assert "connection failed" in info.value.websocket_error
    assert rest_url in info.value.rest_error
    assert "websocket:" in str(info.value) and "rest:" in str(info.value)
    registry = client.metrics.registry
    assert value(registry, "wschaos_client_queries_total", transport="rest", outcome="errored") == 1


async def test_without_rest_url_a_websocket_failure_is_query_failed(make_client, refused_url):
    client, _ = make_client(url=refused_url, rest_url=None)
    with pytest.raises(QueryFailed, match="no rest_url configured"):
        await client.send_query("anything")


async def test_subscribers_see_every_change_in_order(make_client, control):
    client, recorder = make_client()
    second: list = []
    unsubscribe = client.subscribe(second.append)
    await client.ensure_connection()
    await control.close(await control.only_connection_id(), abrupt=True)
    await recorder.wait_for(S.CONNECTED, nth=2)
    await client.reconnect()
    await client.close()
    assert second == recorder.changes
    for before, after in zip(recorder.changes, recorder.changes[1:], strict=False):
        assert after.old is before.new  # no change is skipped
        assert after.at >= before.at
    assert recorder.texts == [
        CONNECTING,
        CONNECTED,
        "WebSocket: Reconnecting (1/3)...",
        CONNECTED,
        CONNECTING,
        CONNECTED,
        status_text(S.DISCONNECTED),
    ]
    unsubscribe()
    await client.ensure_connection()
    assert len(second) == 7 and len(recorder.changes) == 9


async def test_metrics_of_a_scripted_session(make_client, control):
    registry = CollectorRegistry()
    client, recorder = make_client(registry=registry, query_timeout=600.0)  # 1 s real

    await client.send_query("one")  # connect (success 1), websocket answered 1
    recorder.clear()
    await control.close(await control.only_connection_id(), abrupt=True)
    await recorder.wait_for(S.CONNECTED)  # unclean_close 1, success 2, reconnect observed 1
    await client.reconnect()  # manual 1, success 3, reconnect observed 2
    await control.fault(type="reject_connections", status=503)
    recorder.clear()
    await control.close(await control.only_connection_id(), abrupt=True)
    await recorder.wait_for(S.FAILED)  # unclean_close 2, rejected 3, nothing observed
    await control.clear_faults()
    await client.send_query("two")  # query 1, success 4, observed 3, websocket answered 2
    await control.fault(type="drop_replies", route="finops_query")
    recorder.clear()
    result = await client.send_query("three")  # query 2 (suspect), rest answered 1
    assert result.transport == "rest"
    await recorder.wait_for(S.CONNECTED)  # success 5, observed 4

    def get(name: str, **labels: str) -> float:
        return value(registry, name, **labels)

    attempts = "wschaos_client_connect_attempts_total"
    assert get(attempts, outcome="success") == 5
    assert get(attempts, outcome="rejected") == 3
    assert get(attempts, outcome="refused") == 0
    assert get(attempts, outcome="timeout") == 0
    reconnects = "wschaos_client_reconnects_total"
    assert get(reconnects, trigger="unclean_close") == 2
    assert get(reconnects, trigger="manual") == 1
    assert get(reconnects, trigger="query") == 2
    assert get(reconnects, trigger="pong_timeout") == 0
    assert get("wschaos_client_reconnect_seconds_count") == 4
    assert 0 < get("wschaos_client_reconnect_seconds_sum") < 20
    queries = "wschaos_client_queries_total"
    assert get(queries, transport="websocket", outcome="answered") == 2
    assert get(queries, transport="rest", outcome="answered") == 1
    assert get(queries, transport="websocket", outcome="errored") == 0
    assert get(queries, transport="rest", outcome="errored") == 0
    for state in ("connected", "connecting", "reconnecting", "disconnected", "failed"):
        assert get("wschaos_client_state", state=state) == (1 if state == "connected" else 0)


async def test_back_end_error_frame_is_query_failed_without_a_rest_retry(make_client, control):
    client, _ = make_client()
    with pytest.raises(QueryFailed) as info:
        await client.send_query("error: budget exceeded", query_id="q-error")
    assert "budget exceeded" in info.value.websocket_error
    assert info.value.rest_error is None
    assert await control.ledger() == {"q-error": 1}  # REST was not asked to run it again
    assert client.status is S.CONNECTED  # a back-end error says nothing about the connection
    registry = client.metrics.registry
    assert (
        value(registry, "wschaos_client_queries_total", transport="websocket", outcome="errored")
        == 1
    )


async def test_the_same_query_id_twice_in_flight_is_answered_for_both(make_client, control):
    client, _ = make_client()
    await client.ensure_connection()
    results = await asyncio.gather(
        client.send_query("EC2 spend", query_id="twice"),
        client.send_query("EC2 spend", query_id="twice"),
    )
    # Both over WebSocket: neither waiter was lost to the other and left to time out into REST.
    assert [r.transport for r in results] == ["websocket", "websocket"]
    assert results[0].answer == results[1].answer
    assert await control.ledger() == {"twice": 1}


async def test_a_failing_subscriber_does_not_stop_the_others(make_client, control, caplog):
    client, _ = make_client(registry=CollectorRegistry())

    def broken(change: object) -> None:
        raise RuntimeError("subscriber bug")

    client.subscribe(broken)
    later: list = []
    client.subscribe(later.append)
    assert await client.ensure_connection() is True
    assert [change.text for change in later] == [CONNECTING, CONNECTED]
    assert any(r.exc_info and "subscriber bug" in str(r.exc_info[1]) for r in caplog.records)


# Closing ------------------------------------------------------------------------------------------


def client_tasks() -> list[asyncio.Task]:
    """The client's background tasks (reader, heartbeat, attempts, timers, closing handshakes)."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("client-") and not t.done()]


async def test_close_leaves_no_background_task_and_no_later_status(make_client, control):
    client, recorder = make_client(heartbeat_interval=30.0)  # 50 ms real
    assert await client.ensure_connection() is True
    await control.close(await control.only_connection_id(), abrupt=True)
    await recorder.wait_for(S.CONNECTED, nth=2)
    assert await client.reconnect() is True
    assert client_tasks()  # a reader and a heartbeat are running
    await client.close()
    assert client_tasks() == []
    seen = len(recorder.changes)
    assert recorder.changes[-1].new is S.DISCONNECTED
    await asyncio.sleep(0.2)  # four heartbeat intervals: a surviving heartbeat would act
    assert len(recorder.changes) == seen


async def test_close_while_connecting_ends_every_waiter_at_once(make_client, silent_peer):
    # The handshake would hang for the whole 5 s open budget; close() must not wait for it.
    client, recorder = make_client(url=silent_peer.url)
    connecting = asyncio.create_task(client.ensure_connection())
    query = asyncio.create_task(client.send_query("anything", query_id="cut-short"))
    await recorder.wait_for(S.CONNECTING)
    started = time.monotonic()
    await client.close()
    async with asyncio.timeout(2.0):
        assert await connecting is False
        with pytest.raises(QueryFailed) as info:
            await query
    assert time.monotonic() - started < 2.0
    assert "closed while connecting" in info.value.websocket_error
    assert info.value.rest_error == "the client was closed"  # the released session stays shut
    assert client_tasks() == []
    assert client.status is S.DISCONNECTED
