"""Gateway metrics (design §10): a scripted session, then the exact counts on ``GET /metrics``."""

from __future__ import annotations

import json
from collections.abc import Callable

import aiohttp
import pytest
from emulator_test_handlers import events_of
from emulator_test_support import (
    H,
    api,
    closed_with,
    control,
    eventually,
    only_connection,
    recv,
    ws_connect,
)
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import InvalidStatus

from emulator import EmulatorServer

Factory = Callable[..., EmulatorServer]


async def scrape(http: aiohttp.ClientSession, url: str) -> dict[tuple[str, tuple], float]:
    async with http.get(f"{url}/metrics") as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("wschaos_gateway_") and not sample.name.endswith("_created")
    }


async def test_scripted_session_exact_counts(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    config = api(
        routes={"$connect": f"{H}:record", "$disconnect": f"{H}:record", "echo": f"{H}:echo"},
        idle_timeout="2h",
        max_connection_duration="2h",
    )
    # 2 h is 12 s: no timer fires until a PATCH below shortens one, so each close has one cause.
    server = emulator_factory(config, time_scale=600)
    mgmt = server.management_url

    async def patch(**changes: str) -> None:
        assert (await control(http, server, "PATCH", "/config", changes))[0] == 200

    # 1 connect rejected by a fault.
    await control(http, server, "POST", "/faults", {"type": "reject_connections", "status": 503})
    with pytest.raises(InvalidStatus):
        async with ws_connect(server.ws_url):
            pass
    await control(http, server, "DELETE", "/faults")

    # A client that talks, is pushed to, and closes itself.
    async with ws_connect(server.ws_url) as chatty:
        chatty_id = await only_connection(server)
        assert (await scrape(http, server.http_url))[("wschaos_gateway_connections", ())] == 1
        # 3 messages on "echo", 2 that match nothing.
        for _ in range(3):
            await chatty.send('{"action":"echo"}')
            await recv(chatty)
        await chatty.send("not json")
        await chatty.send('{"action":"nope"}')
        await recv(chatty)
        await recv(chatty)
        # Management: POST 200 x2, GET 200, GET 410, POST 400, POST 413, GET 403 (wrong stage),
        # PUT 403 (no such operation).
        for _ in range(2):
            async with http.post(f"{mgmt}/@connections/{chatty_id}", data=b"x") as r:
                assert r.status == 200
            await recv(chatty)
        for method, path, data, status in (
            ("GET", f"{mgmt}/@connections/{chatty_id}", None, 200),
            ("GET", f"{mgmt}/@connections/AAAAAAAAAAAAAAA=", None, 410),
            ("POST", f"{mgmt}/@connections/bad", b"x", 400),
            ("POST", f"{mgmt}/@connections/{chatty_id}", b"x" * (128 * 1024 + 1), 413),
            ("GET", f"{server.http_url}/dev/@connections/{chatty_id}", None, 403),
            ("PUT", f"{mgmt}/@connections/{chatty_id}", None, 403),
        ):
            async with http.request(method, path, data=data) as r:
                assert r.status == status, (method, path)

    # One closed by the idle timeout, then one by the connection duration limit.
    await patch(idle_timeout="30s")  # 50 ms
    async with ws_connect(server.ws_url) as ws:
        assert await closed_with(ws) == (1001, "Going away")
    await patch(idle_timeout="2h", max_connection_duration="30s")
    async with ws_connect(server.ws_url) as ws:
        assert await closed_with(ws) == (1001, "Going away")
    await patch(max_connection_duration="2h")

    # One deleted, one closed by a fault, one refused (binary frame).
    async with ws_connect(server.ws_url) as ws:
        async with http.delete(f"{mgmt}/@connections/{await only_connection(server)}") as r:
            assert r.status == 204
        await closed_with(ws)
    async with ws_connect(server.ws_url) as ws:
        connection_id = await only_connection(server)
        await control(http, server, "POST", f"/connections/{connection_id}/close", {})
        await closed_with(ws)
    async with ws_connect(server.ws_url) as ws:
        await ws.send(b"binary")
        await closed_with(ws)
    await eventually(lambda: len(events_of(server.gateway.api_id, "DISCONNECT")) == 6)

    metrics = await scrape(http, server.http_url)
    assert metrics == await scrape(http, f"http://127.0.0.1:{server.rest_port}")  # both ports
    management = "wschaos_gateway_management_requests_total"
    assert metrics == {
        ("wschaos_gateway_connections", ()): 0,
        ("wschaos_gateway_connects_total", (("status", "503"),)): 1,
        ("wschaos_gateway_connects_total", (("status", "101"),)): 6,
        ("wschaos_gateway_disconnects_total", (("reason", "client"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "idle_timeout"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "max_duration"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "deleted"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "fault"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "error"),)): 1,
        ("wschaos_gateway_messages_total", (("route", "echo"),)): 3,
        ("wschaos_gateway_messages_total", (("route", "$none"),)): 2,
        (management, (("method", "POST"), ("status", "200"))): 2,
        (management, (("method", "GET"), ("status", "200"))): 1,
        (management, (("method", "GET"), ("status", "410"))): 1,
        (management, (("method", "POST"), ("status", "400"))): 1,
        (management, (("method", "POST"), ("status", "413"))): 1,
        (management, (("method", "GET"), ("status", "403"))): 1,
        (management, (("method", "PUT"), ("status", "403"))): 1,
        (management, (("method", "DELETE"), ("status", "204"))): 1,
    }


async def test_emulators_can_share_a_registry(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    registry = CollectorRegistry()
    first = emulator_factory(registry=registry)
    second = emulator_factory(registry=registry)
    for server in (first, second):
        async with ws_connect(server.ws_url) as ws:
            await ws.send(json.dumps({"action": "ping", "timestamp": 0}))
            await recv(ws)
    assert registry.get_sample_value("wschaos_gateway_messages_total", {"route": "ping"}) == 2
    assert first.registry is registry
