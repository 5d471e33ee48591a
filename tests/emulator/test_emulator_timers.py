"""Idle timeout and the 2-hour limit, compressed by the time scale (design §3, spec §4).

At N=1200 the 10-minute idle timeout takes 0.5 s; at N=7200 the 2-hour limit takes 1 s. Lower
bounds are measured from before the handshake (the server's clock starts later, never earlier);
keep-alive traffic comes every 0.1 s, a fifth of the idle timeout, so a loaded machine's late
wake-ups cannot let a connection go idle by accident.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp
from emulator_test_handlers import events_of
from emulator_test_support import (
    SOON,
    H,
    api,
    closed_with,
    eventually,
    only_connection,
    recv,
    ws_connect,
)

from emulator import EmulatorServer
from emulator.events import ClientInfo
from emulator.models import Connection
from emulator.reaper import IDLE_TIMEOUT, MAX_DURATION, due

Factory = Callable[..., EmulatorServer]
ONE_WAY = {"$connect": f"{H}:record", "$disconnect": f"{H}:record", "$default": f"{H}:arecord"}


async def disconnect_pair(server: EmulatorServer) -> tuple[int, str]:
    api_id = server.gateway.api_id
    [event] = await eventually(lambda: events_of(api_id, "DISCONNECT"))
    return event["requestContext"]["disconnectStatusCode"], event["requestContext"][
        "disconnectReason"
    ]


def connection(opened_at: float, last_active: float) -> Connection:
    info = ClientInfo("AAAAAAAAAAAAAAA=", 0, "127.0.0.1", None, "localhost", "prod", "api")
    return Connection(info, opened_at=opened_at, last_active=last_active)


def test_due_names_the_limit_reached() -> None:
    # Opened at 100 s, last active at 150 s; idle timeout 60 s, duration limit 120 s.
    conn = connection(opened_at=100.0, last_active=150.0)
    assert due(conn, 209.9, idle=60.0, max_duration=120.0) is None
    assert due(conn, 210.0, idle=60.0, max_duration=120.0) == IDLE_TIMEOUT
    # Both due: the duration limit is the one reported.
    assert due(conn, 220.0, idle=60.0, max_duration=120.0) == MAX_DURATION
    busy = connection(opened_at=100.0, last_active=219.0)
    assert due(busy, 219.5, idle=60.0, max_duration=120.0) is None
    assert due(busy, 220.0, idle=60.0, max_duration=120.0) == MAX_DURATION


async def test_idle_connection_closes_with_1001_going_away(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with ws_connect(server.ws_url) as ws:
        assert await closed_with(ws) == (1001, "Going away")
        assert 0.49 <= loop.time() - start < 0.5 + SOON
    assert await disconnect_pair(server) == (1001, "Going away")


async def test_inbound_messages_reset_the_idle_timer(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = last = loop.time()
        while last - start < 1.0:  # twice the idle timeout (one-way: nothing comes back)
            await asyncio.sleep(0.1)
            last = loop.time()  # before sending: the server sees the message later, not earlier
            await ws.send("keep me")
        assert ws.close_code is None
        assert await closed_with(ws) == (1001, "Going away")
        assert loop.time() - last >= 0.49  # counted from the last message


async def test_outbound_posts_reset_the_idle_timer(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = loop.time()
        conn = await only_connection(server)
        url = f"{server.management_url}/@connections/{conn}"
        i, last = 0, start
        while last - start < 1.0:  # twice the idle timeout, pushes from the back end only
            await asyncio.sleep(0.1)
            last = loop.time()
            async with http.post(url, data=f"push {i}") as response:
                assert response.status == 200
            assert await recv(ws) == f"push {i}"
            i += 1
        assert await closed_with(ws) == (1001, "Going away")
        assert loop.time() - last >= 0.49


async def test_pings_are_answered_but_do_not_reset_idle_by_default(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(api(routes=ONE_WAY), time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with ws_connect(server.ws_url) as ws:
        pong = await ws.ping(b"hi")
        async with asyncio.timeout(SOON):
            await pong  # protocol pings get a pong
        while ws.close_code is None and loop.time() - start < SOON:
            try:
                await ws.ping()  # every 0.1 s: were pings activity, it would never go idle
            except Exception:
                break  # closing: the ping raced the server's close frame
            await asyncio.sleep(0.1)
        assert await closed_with(ws) == (1001, "Going away")
        assert 0.49 <= loop.time() - start < 0.5 + SOON / 2


async def test_pings_reset_idle_when_configured(emulator_factory: Factory) -> None:
    config = api(routes=ONE_WAY, ping_frames_reset_idle=True)
    server = emulator_factory(config, time_scale=1200)  # idle: 0.5 s
    loop = asyncio.get_running_loop()
    async with ws_connect(server.ws_url) as ws:
        start = last = loop.time()
        while last - start < 1.0:  # twice the idle timeout
            await asyncio.sleep(0.1)
            last = loop.time()
            pong = await ws.ping()
            async with asyncio.timeout(SOON):
                await pong
        assert ws.close_code is None
        assert await closed_with(ws) == (1001, "Going away")
        assert loop.time() - last >= 0.49


async def test_two_hour_limit_closes_busy_connections(emulator_factory: Factory) -> None:
    config = api(routes=ONE_WAY, idle_timeout="10h")
    server = emulator_factory(config, time_scale=7200)  # 2 h: 1 s
    loop = asyncio.get_running_loop()
    start = loop.time()
    async with ws_connect(server.ws_url) as ws:

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
