"""The ``/_wschaos`` control API from outside: connections, closes, faults, config, reset,
back-end actions (design §5)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from emulator_test_handlers import events_of
from emulator_test_support import (
    SOON,
    api,
    closed_with,
    control,
    eventually,
    open_ids,
    recv,
    recv_json,
    ws_connect,
)
from websockets.exceptions import InvalidStatus

from emulator import EmulatorServer

Factory = Callable[..., EmulatorServer]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_list_connections(emulator_factory: Factory, http: aiohttp.ClientSession) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as ws:
        await ws.send('{"action":"echo"}')
        await recv(ws)
        [connection_id] = await open_ids(server)
        status, body = await control(http, server, "GET", "/connections")
        assert status == 200
        [item] = body["connections"]
        assert set(item) == {
            "connectionId", "connectedAt", "lastActiveAt", "sourceIp", "messagesIn", "messagesOut",
        }  # fmt: skip
        assert item["connectionId"] == connection_id and item["sourceIp"] == "127.0.0.1"
        assert (item["messagesIn"], item["messagesOut"]) == (1, 1)
        assert ISO.match(item["connectedAt"]) and ISO.match(item["lastActiveAt"])


@pytest.mark.parametrize(
    ("body", "seen"),
    [
        ({}, (1001, "Going away")),
        ({"code": 4000, "reason": "deploy"}, (4000, "deploy")),
        ({"code": 1012}, (1012, "")),
        ({"abrupt": True}, (1006, "")),
    ],
)
async def test_close_one_connection(
    emulator_factory: Factory, http: aiohttp.ClientSession, body: dict, seen: tuple[int, str]
) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as bystander, ws_connect(server.ws_url) as ws:
        ids = await open_ids(server, 2)
        target = ids[1]
        status, answer = await control(http, server, "POST", f"/connections/{target}/close", body)
        assert (status, answer) == (200, {"closed": [target]})
        assert await closed_with(ws) == seen
        await bystander.send('{"action":"echo"}')
        assert await recv(bystander) == '{"action":"echo"}'
    disconnects = await eventually(lambda: events_of(server.gateway.api_id, "DISCONNECT"))
    first = disconnects[0]["requestContext"]
    assert (first["connectionId"], first["disconnectStatusCode"]) == (target, seen[0])


@pytest.mark.parametrize("body", [{"code": 1001, "reason": "Going away"}, {"abrupt": True}])
async def test_close_all(
    emulator_factory: Factory, http: aiohttp.ClientSession, body: dict
) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as a, ws_connect(server.ws_url) as b:
        ids = await open_ids(server, 2)
        status, answer = await control(http, server, "POST", "/close-all", body)
        assert status == 200 and sorted(answer["closed"]) == sorted(ids)
        expected = (1006, "") if body.get("abrupt") else (1001, "Going away")
        assert await closed_with(a) == expected and await closed_with(b) == expected
    async with ws_connect(server.ws_url):  # new connections are welcome again at once
        pass


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "needle"),
    [
        ("POST", "/connections/AAAAAAAAAAAAAAA=/close", {}, 404, "no such open connection"),
        ("POST", "/close-all", {"code": 1005}, 400, "code: 1005"),
        ("POST", "/close-all", {"code": 999}, 400, "code: 999"),
        ("POST", "/close-all", {"code": 5000}, 400, "code: 5000"),
        ("POST", "/close-all", {"code": "1000"}, 400, "code: '1000'"),
        ("POST", "/close-all", {"reason": "x" * 124}, 400, "reason:"),
        ("POST", "/close-all", {"abrupt": "yes"}, 400, "abrupt:"),
        ("POST", "/close-all", {"cod": 1000}, 400, "cod: unknown key"),
        ("POST", "/close-all", {"abrupt": True, "code": 4000}, 400, "code: 4000: an abrupt"),
        ("POST", "/close-all", [1], 400, "JSON object"),
        ("POST", "/faults", {"type": "earthquake"}, 400, "earthquake"),
        ("POST", "/faults", {}, 400, "type: None"),
        ("POST", "/faults", {"type": ["gone"]}, 400, "type: ['gone']: unknown fault type"),
        ("POST", "/faults", {"type": "reject_connections", "status": 429.0}, 400, "status: 429.0"),
        ("POST", "/faults", {"type": "drop_replies", "route": "pign"}, 400, "'pign': not a route"),
        ("POST", "/faults", {"type": "reject_connections", "status": 404}, 400, "status: 404"),
        ("POST", "/faults", {"type": "delay_replies", "delay": "soon"}, 400, "delay:"),
        ("POST", "/faults", {"type": "delay_replies"}, 400, "delay"),
        ("POST", "/faults", {"type": "drop_replies", "rout": "ping"}, 400, "'rout'"),
        ("POST", "/faults", {"type": "gone", "for": "later"}, 400, "for:"),
        (
            "POST",
            "/faults",
            {"type": "silent_disconnect", "connectionId": "AAAAAAAAAAAAAAA="},
            400,
            "no such open connection",
        ),
        ("DELETE", "/faults/nope-1", None, 404, "nope-1"),
        ("PATCH", "/config", {"stage": "dev"}, 400, "stage: cannot be changed"),
        ("PATCH", "/config", {"idle_timeout": "10 mins"}, 400, "idle_timeout: '10 mins'"),
        ("PATCH", "/config", {"limits": {"frame_bytes": 0}}, 400, "limits.frame_bytes: 0"),
        ("POST", "/backend/explode", {}, 404, "explode"),
        ("POST", "/backend/post", {}, 400, "data"),
        ("POST", "/backend/delete_connection", {}, 404, "none has connected"),
        ("GET", "/nothing-here", None, 404, "no control endpoint"),
        ("PUT", "/faults", None, 404, "no control endpoint"),
    ],
)
async def test_bad_requests_get_a_json_error_naming_the_problem(
    emulator: EmulatorServer,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: Any,
    status: int,
    needle: str,
) -> None:
    got, answer = await control(http, emulator, method, path, body)
    assert got == status, answer
    assert set(answer) == {"message"} and needle in answer["message"]


async def test_malformed_json_and_oversize_bodies(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{emulator.http_url}/_wschaos/faults", data=b"{not json") as r:
        assert r.status == 400 and "not valid JSON" in (await r.json())["message"]
    async with http.post(
        f"{emulator.http_url}/_wschaos/faults", data=b"x" * (5 * 1024 * 1024)
    ) as r:
        assert r.status == 413 and "too large" in (await r.json())["message"]
    async with ws_connect(emulator.ws_url) as ws:  # still serving
        await ws.send('{"action":"ping","timestamp":1}')
        assert await recv_json(ws) == {"action": "pong", "timestamp": 1}


# -- faults ----------------------------------------------------------------------------------------


async def add_fault(http: aiohttp.ClientSession, server: EmulatorServer, fault: dict) -> str:
    status, answer = await control(http, server, "POST", "/faults", fault)
    assert status == 201, answer
    assert answer["type"] == fault["type"]
    return str(answer["id"])


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_reject_connections(
    emulator: EmulatorServer, http: aiohttp.ClientSession, status: int
) -> None:
    fault_id = await add_fault(http, emulator, {"type": "reject_connections", "status": status})
    _, listed = await control(http, emulator, "GET", "/faults")
    assert listed == {"faults": [{"id": fault_id, "type": "reject_connections", "status": status}]}
    with pytest.raises(InvalidStatus) as info:
        async with ws_connect(emulator.ws_url):
            pass
    assert info.value.response.status_code == status
    assert await control(http, emulator, "DELETE", f"/faults/{fault_id}") == (
        200,
        {"removed": [fault_id]},
    )
    async with ws_connect(emulator.ws_url):
        pass


async def test_fault_for_a_duration_ends_by_itself(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(time_scale=600)  # "10m" is 1 s
    loop = asyncio.get_running_loop()
    start = loop.time()  # before the emulator sees the fault: a lower bound of its end
    await add_fault(http, server, {"type": "reject_connections", "status": 503, "for": "10m"})
    # 0 ms: added; the listing and the refused handshake need well under 1 s.
    _, listed = await control(http, server, "GET", "/faults")
    assert listed["faults"][0]["for"] == "10m"
    assert 0 < listed["faults"][0]["remaining_ms"] <= 1000
    with pytest.raises(InvalidStatus):
        async with ws_connect(server.ws_url):
            pass

    async def no_faults() -> bool:
        return not (await control(http, server, "GET", "/faults"))[1]["faults"]

    # 1000 ms: it ends by itself.
    await eventually(no_faults, interval=0.02)
    assert loop.time() - start >= 0.99  # not before its time (1 ms of clock tolerance)
    async with ws_connect(server.ws_url):
        pass


async def test_drop_replies_on_one_route(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    fault_id = await add_fault(http, emulator, {"type": "drop_replies", "route": "ping"})
    async with ws_connect(emulator.ws_url) as ws:
        await ws.send(json.dumps({"action": "ping", "timestamp": 1}))
        await ws.send(json.dumps({"action": "finops_query", "query_id": "d1", "query": "S3"}))
        assert (await recv_json(ws))["type"] == "progress"  # other routes are untouched
        assert (await recv_json(ws))["type"] == "result"
        await control(http, emulator, "DELETE", f"/faults/{fault_id}")
        await ws.send(json.dumps({"action": "ping", "timestamp": 2}))
        assert await recv_json(ws) == {"action": "pong", "timestamp": 2}  # 1 never came


async def test_drop_replies_includes_handler_posts(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    await add_fault(http, emulator, {"type": "drop_replies", "route": "finops_query"})
    async with ws_connect(emulator.ws_url) as ws:
        await ws.send(json.dumps({"action": "finops_query", "query_id": "d2", "query": "S3"}))
        await ws.send(json.dumps({"action": "ping", "timestamp": 3}))
        assert await recv_json(ws) == {"action": "pong", "timestamp": 3}
    _, ledger = await control(http, emulator, "GET", "/ledger")
    assert ledger == {"queries": {"d2": 1}}  # it ran; only the answer was lost


async def test_delay_replies(emulator_factory: Factory, http: aiohttp.ClientSession) -> None:
    server = emulator_factory(time_scale=600)
    await add_fault(
        http, server, {"type": "delay_replies", "route": "ping", "delay": "3m"}
    )  # 0.3 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()
        await ws.send(json.dumps({"action": "ping", "timestamp": 1}))
        assert await recv_json(ws) == {"action": "pong", "timestamp": 1}
        assert 0.29 <= loop.time() - start < SOON


async def test_stall_integrations_times_out(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(time_scale=600)  # integration budget: 250 ms floor
    await add_fault(http, server, {"type": "stall_integrations", "route": "ping", "delay": "10m"})
    async with ws_connect(server.ws_url) as ws:
        await ws.send(json.dumps({"action": "ping", "timestamp": 1}))
        assert (await recv_json(ws))["message"] == "Endpoint request timed out"
    await control(http, server, "DELETE", "/faults")
    await add_fault(
        http, server, {"type": "stall_integrations", "route": "$connect", "delay": "10m"}
    )
    with pytest.raises(InvalidStatus) as info:
        async with ws_connect(server.ws_url):
            pass
    assert info.value.response.status_code == 504


async def test_silent_disconnect_holds_the_connection_half_open(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    async with ws_connect(emulator.ws_url) as ws:
        [connection_id] = await open_ids(emulator)
        fault_id = await add_fault(http, emulator, {"type": "silent_disconnect"})
        _, listed = await control(http, emulator, "GET", "/faults")
        assert listed["faults"][0]["connections"] == [connection_id]
        await ws.send(json.dumps({"action": "ping", "timestamp": 1}))
        pong = await ws.ping()
        url = f"{emulator.management_url}/@connections/{connection_id}"
        async with http.post(url, data=b"pushed") as response:
            assert response.status == 200  # the gateway believes all is well
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await ws.recv()
        assert not pong.done()  # no pong either
        async with ws_connect(emulator.ws_url) as fresh:  # a new connection is not affected
            await fresh.send(json.dumps({"action": "ping", "timestamp": 2}))
            assert await recv_json(fresh) == {"action": "pong", "timestamp": 2}
        await control(http, emulator, "DELETE", f"/faults/{fault_id}")
        await ws.send(json.dumps({"action": "ping", "timestamp": 3}))
        assert await recv_json(ws) == {"action": "pong", "timestamp": 3}


@pytest.mark.parametrize("ending", ["deleted", "expired"])
async def test_overlapping_silent_disconnects_hold_until_the_last_one_ends(
    emulator: EmulatorServer, http: aiohttp.ClientSession, ending: str
) -> None:
    async def post(connection_id: str, data: bytes) -> None:
        url = f"{emulator.management_url}/@connections/{connection_id}"
        async with http.post(url, data=data) as response:
            assert response.status == 200

    async with ws_connect(emulator.ws_url) as held:
        [held_id] = await open_ids(emulator)
        async with ws_connect(emulator.ws_url) as freed:
            [freed_id] = [i for i in await open_ids(emulator, 2) if i != held_id]
            keep = await add_fault(
                http, emulator, {"type": "silent_disconnect", "connectionId": held_id}
            )
            # Every open connection, ``held`` included, for a while.
            fault: dict[str, Any] = {"type": "silent_disconnect"}
            if ending == "expired":
                fault["for"] = "200ms"
            brief = await add_fault(http, emulator, fault)
            if ending == "deleted":
                assert (await control(http, emulator, "DELETE", f"/faults/{brief}"))[0] == 200
            else:

                async def expired() -> bool:
                    _, listed = await control(http, emulator, "GET", "/faults")
                    return [f["id"] for f in listed["faults"]] == [keep]

                await eventually(expired, interval=0.02)
            await post(freed_id, b"flows again")
            assert await recv(freed) == "flows again"
            await post(held_id, b"never sent")  # decided before the answer: deterministic
            await control(http, emulator, "DELETE", f"/faults/{keep}")
            await post(held_id, b"after the last fault")
            assert await recv(held) == "after the last fault"


async def test_gone_for_a_live_connection(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    async with ws_connect(emulator.ws_url) as ws, ws_connect(emulator.ws_url):
        first, second = await open_ids(emulator, 2)
        fault_id = await add_fault(http, emulator, {"type": "gone", "connectionId": first})
        for target, status in ((first, 410), (second, 200)):
            async with http.post(
                f"{emulator.management_url}/@connections/{target}", data=b"x"
            ) as r:
                assert r.status == status
                if status == 410:
                    assert r.headers["x-amzn-ErrorType"] == "GoneException"
        await control(http, emulator, "DELETE", f"/faults/{fault_id}")
        await add_fault(http, emulator, {"type": "gone"})
        async with http.get(f"{emulator.management_url}/@connections/{second}") as r:
            assert r.status == 410
        await ws.send(json.dumps({"action": "ping", "timestamp": 1}))  # the socket itself works
        assert await recv_json(ws) == {"action": "pong", "timestamp": 1}


# -- config, reset, back end -----------------------------------------------------------------------


async def test_config_patch_applies_to_live_connections(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(time_scale=60)  # idle: 10 s, far past every wait below
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()  # before the connection opened: a lower bound of its idle deadline
        [connection_id] = await open_ids(server)
        # Limits apply at once: a post over the new message limit is refused.
        patch = {"limits": {"message_bytes": 10}}
        status, config = await control(http, server, "PATCH", "/config", patch)
        assert status == 200 and config["limits"]["message_bytes"] == 10
        assert config["limits"]["frame_bytes"] == 32768  # merged, not replaced
        url = f"{server.management_url}/@connections/{connection_id}"
        async with http.post(url, data=b"x" * 11) as r:
            assert r.status == 413
        # Timers of live connections follow the new idle timeout: 0.5 s instead of 10 s.
        status, config = await control(http, server, "PATCH", "/config", {"idle_timeout": "30s"})
        assert status == 200 and config["idle_timeout"] == "30s"
        assert await closed_with(ws) == (1001, "Going away")  # bounded by SOON, well under 10 s
        assert loop.time() - start >= 0.49
    _, config = await control(http, server, "GET", "/config")
    assert config["idle_timeout"] == "30s" and config["stage"] == "prod"


async def test_reset_restores_everything(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory()
    async with ws_connect(server.ws_url) as ws:
        await ws.send(json.dumps({"action": "finops_query", "query_id": "r1", "query": "x"}))
        await recv_json(ws)
        await recv_json(ws)
        await add_fault(http, server, {"type": "drop_replies"})
        await control(http, server, "PATCH", "/config", {"integration_timeout": "1s"})
        assert await control(http, server, "POST", "/reset") == (200, {"reset": True})
        assert await closed_with(ws) == (1001, "Going away")
    assert await control(http, server, "GET", "/faults") == (200, {"faults": []})
    assert await control(http, server, "GET", "/ledger") == (200, {"queries": {}})
    assert (await control(http, server, "GET", "/connections"))[1] == {"connections": []}
    assert (await control(http, server, "GET", "/config"))[1]["integration_timeout"] == "29s"


async def test_backend_actions_use_the_connections_api(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    async with ws_connect(emulator.ws_url) as first, ws_connect(emulator.ws_url) as last:
        first_id, last_id = await open_ids(emulator, 2)
        status, answer = await control(http, emulator, "POST", "/backend/post", {"data": {"n": 1}})
        assert (status, answer) == (200, {"action": "post", "connectionId": last_id, "status": 200})
        assert await recv_json(last) == {"n": 1}
        await control(
            http, emulator, "POST", "/backend/post", {"data": "hey", "connectionId": first_id}
        )
        assert await recv(first) == "hey"
        status, answer = await control(http, emulator, "POST", "/backend/delete_connection", {})
        assert answer["status"] == 204
        assert await closed_with(last) == (1000, "Connection Closed Normally")
        # The back end still holds the dead id: its next post is Gone, as on AWS.
        await eventually(lambda: len(emulator.call(lambda g: g.open_connection_ids())) == 1)
        status, answer = await control(http, emulator, "POST", "/backend/post", {"data": "late"})
        assert answer == {
            "action": "post",
            "connectionId": last_id,
            "status": 410,
            "error": "GoneException",
        }
