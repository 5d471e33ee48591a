"""The WebSocket API from outside, over real sockets: handshakes, routes, error frames, replies."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from emulator_test_handlers import events_of
from emulator_test_support import (
    SOON,
    H,
    api,
    closed_with,
    eventually,
    raw_upgrade,
    recv,
    recv_json,
    ws_connect,
)
from websockets.exceptions import InvalidStatus

from emulator import EmulatorError, EmulatorServer
from emulator.replies import ConnectVerdict, connect_verdict
from emulator.websocket import check_aiohttp_support

Factory = Callable[..., EmulatorServer]
ERROR_FRAME = re.compile(
    r'^\{"message": "(?P<message>[^"]+)", "connectionId":"(?P<cid>[A-Za-z0-9_-]{15}=)", '
    r'"requestId":"(?P<rid>[A-Za-z0-9_-]{15}=)"\}$'
)


async def rejected_status(url: str) -> int:
    with pytest.raises(InvalidStatus) as info:
        async with ws_connect(url):
            pass
    return info.value.response.status_code


async def test_plain_get_gets_426_and_wrong_stage_403(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{emulator.http_url}/prod") as response:
        assert response.status == 426
    async with http.get(f"{emulator.http_url}/staging") as response:
        assert response.status == 403
        assert await response.json() == {"message": "Forbidden"}
    assert await rejected_status(f"ws://127.0.0.1:{emulator.port}/staging") == 403


async def test_sample_ping_is_two_way(emulator: EmulatorServer) -> None:
    async with ws_connect(emulator.ws_url) as ws:
        await ws.send(json.dumps({"action": "ping", "timestamp": 1234}))
        assert await recv_json(ws) == {"action": "pong", "timestamp": 1234}


async def test_sample_query_pushes_progress_then_result_and_runs_once(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    query = {"action": "finops_query", "query_id": "q-1", "query": "EC2 spend last month"}
    async with ws_connect(emulator.ws_url) as ws:
        await ws.send(json.dumps(query))
        progress = await recv_json(ws)
        result = await recv_json(ws)
        assert progress["type"] == "progress" and progress["query_id"] == "q-1"
        assert progress["message"]
        assert result["type"] == "result" and result["query_id"] == "q-1"
        assert result["answer"]["query"] == "EC2 spend last month"
        # A retry on the same socket gets the stored result, without progress or a second run.
        await ws.send(json.dumps(query))
        assert await recv_json(ws) == result
        await ws.send(json.dumps({**query, "query_id": "q-2", "query": "error: no data"}))
        await recv_json(ws)  # progress
        assert await recv_json(ws) == {"type": "error", "query_id": "q-2", "message": "no data"}
    # Over REST too, whichever transport asked first.
    async with http.post(f"{emulator.rest_url}/query", json={"query_id": "q-1", "query": "x"}) as r:
        assert r.status == 200
        assert await r.json() == {"query_id": "q-1", "answer": result["answer"]}
    async with http.get(f"{emulator.http_url}/_wschaos/ledger") as r:
        assert await r.json() == {"queries": {"q-1": 1, "q-2": 1}}


async def test_sample_unknown_action_gets_the_default_reply(emulator: EmulatorServer) -> None:
    async with ws_connect(emulator.ws_url) as ws:
        await ws.send("not json")
        assert (await recv_json(ws))["type"] == "error"


async def test_one_way_route_sends_nothing_and_two_way_sends_the_body(
    emulator_factory: Factory,
) -> None:
    config = api(
        routes={"$default": f"{H}:echo", "quiet": f"{H}:echo", "loud": f"{H}:status_500_with_body"},
        two_way_routes=["$default", "loud"],
    )
    server = emulator_factory(config)
    async with ws_connect(server.ws_url) as ws:
        await ws.send(json.dumps({"action": "quiet"}))
        await ws.send(json.dumps({"action": "loud"}))
        # The 500 status does not matter on a two-way route: the body is delivered.
        assert await recv(ws) == "still delivered"
        await ws.send("marker")
        assert await recv(ws) == "marker"  # nothing from the one-way route came in between


async def test_no_route_and_no_default_sends_forbidden_and_stays_open(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(api(routes={"echo": f"{H}:echo"}, two_way_routes=["echo"]))
    async with ws_connect(server.ws_url) as ws:
        ids = set()
        for body in (json.dumps({"action": "nope"}), "hi"):
            await ws.send(body)
            frame = ERROR_FRAME.match(await recv(ws))
            assert frame is not None and frame["message"] == "Forbidden"
            ids.add(frame["rid"])
        assert len(ids) == 2  # a fresh request id per message
        await ws.send(json.dumps({"action": "echo", "n": 1}))
        assert json.loads(await recv(ws)) == {"action": "echo", "n": 1}


@pytest.mark.parametrize("handler", ["boom", "aboom"])
async def test_handler_exception_sends_internal_server_error(
    emulator_factory: Factory, handler: str
) -> None:
    server = emulator_factory(api(routes={"$default": f"{H}:{handler}"}, two_way_routes=[]))
    async with ws_connect(server.ws_url) as ws:
        await ws.send("x")
        frame = ERROR_FRAME.match(await recv(ws))
        assert frame is not None and frame["message"] == "Internal server error"
        await ws.send("y")  # still open
        assert ERROR_FRAME.match(await recv(ws)) is not None
    assert any("boom" in str(e) for e in server.handler_errors)


@pytest.mark.parametrize("handler", ["slow", "sync_slow"])
async def test_integration_timeout_sends_endpoint_request_timed_out(
    emulator_factory: Factory, handler: str
) -> None:
    # 29 s at N=600 is 48 ms, floored to the 250 ms processing budget (design §3).
    server = emulator_factory(api(routes={"$default": f"{H}:{handler}"}), time_scale=600)
    async with ws_connect(server.ws_url) as ws:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await ws.send("x")
        frame = ERROR_FRAME.match(await recv(ws))
        elapsed = loop.time() - start
        assert frame is not None and frame["message"] == "Endpoint request timed out"
        assert 0.24 <= elapsed < SOON


async def test_connect_status_codes(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes={"$connect": f"{H}:connect_by_query"}))
    for status in (401, 400, 301, 501):
        assert await rejected_status(f"{server.ws_url}?status={status}") == status
    assert await rejected_status(f"{server.ws_url}?raise=1") == 502
    for accepted in ("?status=200", "?status=201", "?none=1", ""):
        async with ws_connect(server.ws_url + accepted):
            pass


async def test_connect_timeout_is_504(emulator_factory: Factory) -> None:
    # 29 s at N=600 is floored to 250 ms: the handshake is held that long, then answered 504.
    server = emulator_factory(api(routes={"$connect": f"{H}:slow"}), time_scale=600)
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await rejected_status(server.ws_url) == 504
    assert 0.24 <= loop.time() - start < SOON


@pytest.mark.parametrize(
    ("result", "verdict"),
    [
        (None, ConnectVerdict(101)),
        ({"statusCode": 200}, ConnectVerdict(101)),
        ({"statusCode": 204, "body": "ignored"}, ConnectVerdict(101)),
        (
            {"statusCode": 200, "headers": {"sec-websocket-protocol": "chat.v2", "X-Other": "1"}},
            ConnectVerdict(101, subprotocol="chat.v2"),
        ),
        # Other headers are not passed back, and only on a 2xx does a subprotocol matter.
        ({"statusCode": 400, "headers": {"Sec-WebSocket-Protocol": "x"}}, ConnectVerdict(400)),
        ({"statusCode": 301}, ConnectVerdict(301)),
        ({"statusCode": 599}, ConnectVerdict(599)),
        # No HTTP answer can carry these: a failed integration.
        ({"statusCode": 101}, ConnectVerdict(502, malformed=True)),
        ({"statusCode": 600}, ConnectVerdict(502, malformed=True)),
        ({"statusCode": "200"}, ConnectVerdict(502, malformed=True)),
        ({"statusCode": True}, ConnectVerdict(502, malformed=True)),
        ({}, ConnectVerdict(502, malformed=True)),
        ("200", ConnectVerdict(502, malformed=True)),
    ],
)
def test_connect_verdicts(result: Any, verdict: ConnectVerdict) -> None:
    assert connect_verdict(result) == verdict


async def test_no_connect_route_accepts(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes={"$default": f"{H}:echo"}))
    async with ws_connect(server.ws_url) as ws:
        await ws.send("hello")
        assert await recv(ws) == "hello"


async def test_handshake_waits_for_the_connect_integration(emulator_factory: Factory) -> None:
    # Posting to yourself during $connect is 410: the id is not usable before the 101.
    server = emulator_factory(api(routes={"$connect": f"{H}:post_in_connect"}))
    async with ws_connect(server.ws_url):
        pass  # post_in_connect answers 500 unless it saw GoneException


async def test_only_connect_selects_a_subprotocol(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes={"$connect": f"{H}:connect_by_query"}))
    async with ws_connect(
        f"{server.ws_url}?proto=chat.v2", subprotocols=["chat.v1", "chat.v2"]
    ) as ws:
        assert ws.subprotocol == "chat.v2"
    async with ws_connect(server.ws_url, subprotocols=["chat.v1", "chat.v2"]) as ws:
        assert ws.subprotocol is None
    connects = events_of(server.gateway.api_id, "CONNECT")
    assert connects[0]["headers"]["Sec-WebSocket-Protocol"] == "chat.v1, chat.v2"


async def test_connection_rate_limit_gives_429(emulator_factory: Factory) -> None:
    # 3 a second with a one-second burst: the first 3 pass; after t seconds at most 3 + 3t have.
    server = emulator_factory(api(limits={"new_connections_per_second": 3}))
    loop = asyncio.get_running_loop()
    start = loop.time()
    statuses = []
    for _ in range(8):
        try:
            async with ws_connect(server.ws_url):
                statuses.append(101)
        except InvalidStatus as exc:
            statuses.append(exc.response.status_code)
            if exc.response.status_code == 429:
                assert json.loads(exc.response.body) == {"message": "Too Many Requests"}
    elapsed = loop.time() - start
    assert statuses[:3] == [101, 101, 101]
    assert set(statuses) <= {101, 429}
    assert statuses.count(101) <= 3 + 3 * elapsed
    assert 429 in statuses  # unless 8 handshakes took over 5/3 s


async def test_disconnect_runs_after_every_close_with_code_and_reason(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as ws:
        await ws.close(code=4001, reason="bye now")
    async with ws_connect(server.ws_url) as ws:
        await ws.close()
    api_id = server.gateway.api_id
    disconnects = await eventually(
        lambda: len(events_of(api_id, "DISCONNECT")) == 2 and events_of(api_id, "DISCONNECT")
    )
    pairs = [
        (e["requestContext"]["disconnectStatusCode"], e["requestContext"]["disconnectReason"])
        for e in disconnects
    ]
    assert sorted(pairs) == [(1000, ""), (4001, "bye now")]


async def test_stop_closes_live_connections_with_1001_and_runs_disconnect(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(api())
    api_id = server.gateway.api_id
    # One client answers the close frame; the other (a raw socket) never reads or answers it.
    reader, writer = await raw_upgrade(server)
    async with ws_connect(server.ws_url) as ws:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.to_thread(server.stop)  # this loop runs on: ws answers the close frame
        # The silent client costs the linger (1 s), not the 5 s close timeout.
        assert loop.time() - start < 4.0
        assert await closed_with(ws) == (1001, "Going away")
    async with asyncio.timeout(SOON):
        data = await reader.read()  # the close frame, then EOF
    assert data.startswith(b"\x88\x0c\x03\xe9Going away")  # 1001, unmasked from the server
    writer.close()
    # $disconnect ran for both before stop() returned.
    disconnects = events_of(api_id, "DISCONNECT")
    assert [e["requestContext"]["disconnectStatusCode"] for e in disconnects] == [1001, 1001]


def test_an_aiohttp_without_the_hooked_internals_fails_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check_aiohttp_support()  # the installed aiohttp has them

    def changed(self: Any, request: Any, protocol: Any) -> None:
        pass

    monkeypatch.setattr(web.WebSocketResponse, "_post_start", changed)
    with pytest.raises(EmulatorError, match=r"aiohttp \d.*WebSocketResponse._post_start takes"):
        check_aiohttp_support()
    monkeypatch.delattr(web.WebSocketResponse, "_post_start")
    with pytest.raises(EmulatorError, match=r"frame guard: WebSocketResponse._post_start is gone"):
        EmulatorServer().start()
