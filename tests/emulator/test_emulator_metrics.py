"""Gateway metrics (design §10): a scripted session, then the exact counts on ``GET /metrics``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
from emulator_test_handlers import events_of
from emulator_test_support import SOON, H, api, closed_with, control, eventually, recv, ws_connect
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed, InvalidStatus

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
        routes={
            "$connect": f"{H}:record",
            "$disconnect": f"{H}:record",
            "echo": f"{H}:echo",
            "tick": f"{H}:arecord",  # one-way: the chatter below reads nothing
        },
        idle_timeout="10m",
        max_connection_duration="20m",
    )
    server = emulator_factory(config, time_scale=1200)  # idle 0.5 s, max 1 s
    mgmt = server.management_url

    # 1 connect rejected by a fault.
    await control(http, server, "POST", "/faults", {"type": "reject_connections", "status": 503})
    try:
        async with ws_connect(server.ws_url):
            pass
    except InvalidStatus:
        pass
    await control(http, server, "DELETE", "/faults")

    async with ws_connect(server.ws_url) as chatty, ws_connect(server.ws_url) as idle:
        chatty_id, _ = await eventually(
            lambda: len(ids := server.call(lambda g: g.open_connection_ids())) == 2 and ids
        )
        assert (await scrape(http, server.http_url))[("wschaos_gateway_connections", ())] == 2
        # 3 messages on "echo", 2 that match nothing.
        for _ in range(3):
            await chatty.send('{"action":"echo"}')
            await recv(chatty)
        await chatty.send("not json")
        await chatty.send('{"action":"nope"}')
        await recv(chatty)
        await recv(chatty)
        # Management: POST 200 x2, GET 200, GET 410, POST 400, GET 403 (wrong stage).
        for _ in range(2):
            async with http.post(f"{mgmt}/@connections/{chatty_id}", data=b"x") as r:
                assert r.status == 200
        async with http.get(f"{mgmt}/@connections/{chatty_id}") as r:
            assert r.status == 200
        async with http.get(f"{mgmt}/@connections/AAAAAAAAAAAAAAA=") as r:
            assert r.status == 410
        async with http.post(f"{mgmt}/@connections/bad", data=b"x") as r:
            assert r.status == 400
        async with http.get(f"{server.http_url}/dev/@connections/{chatty_id}") as r:
            assert r.status == 403
        # "idle" times out (0.5 s) while "chatty" keeps talking until the 1 s limit.
        loop = asyncio.get_running_loop()
        end = loop.time() + SOON
        while chatty.close_code is None and loop.time() < end:
            try:
                await chatty.send('{"action":"tick"}')
            except ConnectionClosed:
                break
            await asyncio.sleep(0.05)
        assert await closed_with(idle) == (1001, "Going away")
        assert await closed_with(chatty) == (1001, "Going away")
    ticks = (await scrape(http, server.http_url))[
        ("wschaos_gateway_messages_total", (("route", "tick"),))
    ]

    # One closed by the client, one deleted, one closed by a fault, one refused (binary frame).
    async with ws_connect(server.ws_url) as ws:
        pass
    async with ws_connect(server.ws_url) as ws:
        [deleted] = await eventually(lambda: server.call(lambda g: g.open_connection_ids()))
        async with http.delete(f"{mgmt}/@connections/{deleted}") as r:
            assert r.status == 204
        await closed_with(ws)
    async with ws_connect(server.ws_url) as ws:
        [victim] = await eventually(lambda: server.call(lambda g: g.open_connection_ids()))
        await control(http, server, "POST", f"/connections/{victim}/close", {})
        await closed_with(ws)
    async with ws_connect(server.ws_url) as ws:
        await ws.send(b"binary")
        await closed_with(ws)
    await eventually(lambda: len(events_of(server.gateway.api_id, "DISCONNECT")) == 6)

    metrics = await scrape(http, server.http_url)
    assert metrics == await scrape(http, f"http://127.0.0.1:{server.rest_port}")  # both ports
    expected = {
        ("wschaos_gateway_connections", ()): 0,
        ("wschaos_gateway_connects_total", (("status", "503"),)): 1,
        ("wschaos_gateway_connects_total", (("status", "101"),)): 6,
        ("wschaos_gateway_disconnects_total", (("reason", "idle_timeout"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "max_duration"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "client"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "deleted"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "fault"),)): 1,
        ("wschaos_gateway_disconnects_total", (("reason", "error"),)): 1,
        ("wschaos_gateway_messages_total", (("route", "echo"),)): 3,
        ("wschaos_gateway_messages_total", (("route", "tick"),)): ticks,
        ("wschaos_gateway_messages_total", (("route", "$none"),)): 2,
        ("wschaos_gateway_management_requests_total", (("method", "POST"), ("status", "200"))): 2,
        ("wschaos_gateway_management_requests_total", (("method", "GET"), ("status", "200"))): 1,
        ("wschaos_gateway_management_requests_total", (("method", "GET"), ("status", "410"))): 1,
        ("wschaos_gateway_management_requests_total", (("method", "POST"), ("status", "400"))): 1,
        ("wschaos_gateway_management_requests_total", (("method", "GET"), ("status", "403"))): 1,
        ("wschaos_gateway_management_requests_total", (("method", "DELETE"), ("status", "204"))): 1,
    }
    assert metrics == expected
    assert ticks >= 5  # the chatter ran until the limit, at least 0.5 s after the idle close


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
