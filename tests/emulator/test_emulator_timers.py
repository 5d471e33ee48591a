"""Idle timeout and the 2-hour limit, compressed by the time scale (design §3, spec §4).

At N=1200 the 10-minute idle timeout takes 0.5 s; at N=7200 the 2-hour limit takes 1 s.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
from emulator_test_handlers import events_of
from emulator_test_support import SOON, H, api, closed_with, eventually, recv, ws_connect

from emulator import EmulatorServer

Factory = Callable[..., EmulatorServer]
ONE_WAY = {"$connect": f"{H}:record", "$disconnect": f"{H}:record", "$default": f"{H}:arecord"}


async def disconnect_pair(server: EmulatorServer) -> tuple[int, str]:
    api_id = server.gateway.api_id
    [event] = await eventually(lambda: events_of(api_id, "DISCONNECT"))
    return event["requestContext"]["disconnectStatusCode"], event["requestContext"][
        "disconnectReason"
    ]


async def test_idle_connection_closes_with_1001_going_away(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()
        assert await closed_with(ws) == (1001, "Going away")
        assert 0.49 <= loop.time() - start < 0.5 + SOON
    assert await disconnect_pair(server) == (1001, "Going away")


async def test_inbound_messages_reset_the_idle_timer(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()
        for _ in range(6):  # 1.2 s of traffic, a message every 0.2 s (one-way: nothing comes back)
            await asyncio.sleep(0.2)
            await ws.send("keep me")
        last = loop.time()
        assert ws.close_code is None and loop.time() - start >= 1.2
        assert await closed_with(ws) == (1001, "Going away")
        assert loop.time() - last >= 0.49


async def test_outbound_posts_reset_the_idle_timer(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    async with ws_connect(server.ws_url) as ws:
        [conn] = await eventually(lambda: server.call(lambda g: g.open_connection_ids()))
        url = f"{server.management_url}/@connections/{conn}"
        for i in range(6):  # 1.2 s of pushes from the back end
            await asyncio.sleep(0.2)
            async with http.post(url, data=f"push {i}") as response:
                assert response.status == 200
            assert await recv(ws) == f"push {i}"
        assert await closed_with(ws) == (1001, "Going away")


async def test_pings_are_answered_but_do_not_reset_idle_by_default(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()
        pong = await ws.ping(b"hi")
        async with asyncio.timeout(SOON):
            await pong  # protocol pings get a pong
        while ws.close_code is None and loop.time() - start < SOON:
            try:
                await ws.ping()
            except Exception:
                break
            await asyncio.sleep(0.1)
        assert await closed_with(ws) == (1001, "Going away")
        assert loop.time() - start < 0.5 + SOON / 2


async def test_pings_reset_idle_when_configured(emulator_factory: Factory) -> None:
    config = api(routes=ONE_WAY, ping_frames_reset_idle=True)
    server = emulator_factory(config, time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()
        while loop.time() - start < 1.2:
            pong = await ws.ping()
            async with asyncio.timeout(SOON):
                await pong
            await asyncio.sleep(0.2)
        assert ws.close_code is None
        assert await closed_with(ws) == (1001, "Going away")


async def test_two_hour_limit_closes_busy_connections(emulator_factory: Factory) -> None:
    config = api(routes=ONE_WAY, idle_timeout="10h")
    server = emulator_factory(config, time_scale=7200)  # 2 h: 1 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()

        async def chatter() -> None:
            while True:  # keep-alive traffic does not extend the limit
                await ws.send(json.dumps({"action": "keepalive"}))
                await asyncio.sleep(0.1)

        task = asyncio.create_task(chatter())
        try:
            assert await closed_with(ws) == (1001, "Going away")
        finally:
            task.cancel()
        assert 0.99 <= loop.time() - start < 1 + SOON
    assert await disconnect_pair(server) == (1001, "Going away")
