"""Frame and message limits, binary frames, and bad input that must never hurt the server or
other connections (spec §3, §4)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable

import aiohttp
from emulator_test_handlers import events_of
from emulator_test_support import (
    SOON,
    H,
    api,
    closed_with,
    control,
    eventually,
    raw_upgrade,
    recv,
    ws_connect,
)

from emulator import EmulatorServer
from emulator.gateway import MAX_IN_FLIGHT
from emulator.throttle import TokenBucket

Factory = Callable[..., EmulatorServer]
KB = 1024


async def assert_still_serving(server: EmulatorServer) -> None:
    async with ws_connect(server.ws_url) as ws:
        await ws.send('{"action":"echo","alive":true}')
        assert json.loads(await recv(ws)) == {"action": "echo", "alive": True}


async def test_frame_over_32k_closes_1009(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url, max_size=None) as ws:
        await ws.send("x" * (32 * KB))  # exactly 32 KB is fine
        assert len(await recv(ws)) == 32 * KB
        await ws.send("x" * (32 * KB + 1))
        assert (await closed_with(ws))[0] == 1009
    api_id = server.gateway.api_id
    [event] = await eventually(lambda: events_of(api_id, "DISCONNECT"))
    assert event["requestContext"]["disconnectStatusCode"] == 1009
    await assert_still_serving(server)


async def test_fragmented_message_up_to_128k_is_accepted(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url, max_size=None) as ws:
        await ws.send(["a" * (32 * KB), "b" * (32 * KB), "c" * (32 * KB), "d" * (32 * KB)])
        reply = await recv(ws)
        assert len(reply) == 128 * KB and reply.endswith("d" * 10)


async def test_message_over_128k_closes_1009(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url, max_size=None) as ws:
        await ws.send(["a" * (32 * KB)] * 4 + ["e"])
        assert (await closed_with(ws))[0] == 1009
    await assert_still_serving(server)


async def test_binary_frame_closes_1003(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as ws:
        await ws.send(b"\x00\x01binary")
        assert (await closed_with(ws))[0] == 1003
    await assert_still_serving(server)


async def test_limits_follow_the_config(emulator_factory: Factory) -> None:
    server = emulator_factory(api(limits={"frame_bytes": 100, "message_bytes": 150}))
    async with ws_connect(server.ws_url) as ws:
        await ws.send(["x" * 100, "y" * 50])
        assert await recv(ws) == "x" * 100 + "y" * 50
        await ws.send("z" * 101)
        assert (await closed_with(ws))[0] == 1009


async def test_invalid_utf8_only_closes_that_connection(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as bystander:
        async with ws_connect(server.ws_url) as ws:
            await ws.send(b"\xff\xfe not utf-8", text=True)
            assert (await closed_with(ws))[0] == 1007
        await bystander.send('{"action":"echo"}')
        assert await recv(bystander) == '{"action":"echo"}'


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(SOON):
        return await reader.read()  # until EOF: the server dropped this connection


async def test_malformed_frames_close_only_that_connection(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    garbage = [
        b"\xf1\x85" + os.urandom(4) + b"hello",  # RSV bits set without an extension
        b"\x81\x05hello",  # an unmasked client frame
        b"\x83\x80" + os.urandom(4),  # a reserved opcode
        b"\x89\xfe\x01\x00" + os.urandom(4) + bytes(256),  # a 256-byte ping (limit 125)
        b"\x01\x80" + os.urandom(4) + b"\x01\x80" + os.urandom(4),  # a new message mid-fragment
    ]
    async with ws_connect(server.ws_url) as bystander:
        for data in garbage:
            reader, writer = await raw_upgrade(server)
            writer.write(data)
            await read_until_closed(reader)
            writer.close()
        await bystander.send('{"action":"echo"}')
        assert await recv(bystander) == '{"action":"echo"}'
    await assert_still_serving(server)


async def test_abrupt_disconnects_run_disconnect_with_1006(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    for _ in range(5):
        _, writer = await raw_upgrade(server)
        writer.transport.abort()  # no close frame, no FIN handshake
    api_id = server.gateway.api_id
    events = await eventually(
        lambda: len(events_of(api_id, "DISCONNECT")) == 5 and events_of(api_id, "DISCONNECT")
    )
    assert {e["requestContext"]["disconnectStatusCode"] for e in events} == {1006}
    assert server.call(lambda g: g.open_connection_ids()) == []
    await assert_still_serving(server)


async def test_a_flood_of_messages_is_answered_in_full(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes={"$default": f"{H}:aecho"}))
    async with ws_connect(server.ws_url) as bystander, ws_connect(server.ws_url) as ws:
        count = 2000
        for i in range(count):
            await ws.send(str(i))
        got = set()
        async with asyncio.timeout(SOON * 3):
            while len(got) < count:
                got.add(await ws.recv())
        assert got == {str(i) for i in range(count)}
        await bystander.send("still here")
        assert await recv(bystander) == "still here"


async def test_garbage_http_does_not_hurt(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(api())
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"\x16\x03\x01 definitely not http\r\n\r\n")
    await read_until_closed(reader)
    writer.close()
    async with http.get(f"{server.http_url}/prod", headers={"Upgrade": "websocket"}) as response:
        assert response.status == 400  # an upgrade without the WebSocket headers
    await assert_still_serving(server)


class FakeClock:
    """Monotonic seconds that move only when told."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_one_second_burst_then_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.34  # one token back (a third of a second, and a little)
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 60  # idle time banks one second's worth, no more
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_token_bucket_below_one_per_second_still_lets_one_through() -> None:
    clock = FakeClock()
    bucket = TokenBucket(0.5, clock=clock)
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 1.9
    assert not bucket.take()
    clock.now += 0.1  # two seconds: one token
    assert bucket.take()


def test_token_bucket_rate_changes() -> None:
    clock = FakeClock()
    unlimited = TokenBucket(None, clock=clock)
    assert all(unlimited.take() for _ in range(1000))
    unlimited.set_rate(2)  # the limit applies from now on, with a full bucket
    assert [unlimited.take() for _ in range(3)] == [True, True, False]
    bucket = TokenBucket(100, clock=clock)
    bucket.set_rate(2)  # what was banked shrinks to the new burst
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    bucket.set_rate(None)
    assert all(bucket.take() for _ in range(1000))


async def test_a_flood_stops_being_read_while_its_messages_are_in_flight(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    # Handlers that take 29 s: the gateway reads MAX_IN_FLIGHT messages, then no more until they
    # finish, so a flood cannot pile up tasks; other connections are served meanwhile.
    server = emulator_factory(api(routes={"$default": f"{H}:slow", "echo": f"{H}:aecho"}))
    async with ws_connect(server.ws_url) as bystander, ws_connect(server.ws_url) as ws:
        for i in range(MAX_IN_FLIGHT * 2):
            await ws.send(str(i))

        async def messages_in() -> dict[str, int]:
            _, body = await control(http, server, "GET", "/connections")
            return {c["connectionId"]: c["messagesIn"] for c in body["connections"]}

        async def flooded_in() -> dict[str, int] | None:
            counts = await messages_in()
            return counts if MAX_IN_FLIGHT in counts.values() else None

        counts = await eventually(flooded_in, interval=0.01)
        [flooded] = [cid for cid, n in counts.items() if n == MAX_IN_FLIGHT]
        await bystander.send('{"action":"echo"}')
        assert await recv(bystander) == '{"action":"echo"}'
        assert (await messages_in())[flooded] == MAX_IN_FLIGHT
        # A close from the gateway is not held up by the backlog.
        status, _ = await control(
            http, server, "POST", f"/connections/{flooded}/close", {"code": 1001}
        )
        assert status == 200
        assert await closed_with(ws) == (1001, "Going away")
