"""Toxics added, updated and removed on open connections (fact sheet §2.2-2.3)."""

from __future__ import annotations

import asyncio
import random
import time

from toxiproxy_support import (
    WAIT,
    Api,
    Upstream,
    connect,
    proxied,
    read_until_closed,
    round_trip,
)


async def test_toxic_added_to_open_connection_takes_effect(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    reader, writer = await connect(created["listen"])
    await round_trip(reader, writer, b"before")  # the connection is open before the toxic
    await api.add_toxic("p", type="latency", attributes={"latency": 100})
    assert 0.100 <= await round_trip(reader, writer, b"after") < 0.5
    await api.add_toxic(
        "p", name="up", type="latency", attributes={"latency": 50}, stream="upstream"
    )
    assert 0.150 <= await round_trip(reader, writer, b"both") < 0.6
    writer.close()


async def test_toxic_added_live_gets_fresh_state(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    server_writer.write(b"0123456789")  # before the toxic: not counted
    assert await asyncio.wait_for(reader.readexactly(10), WAIT) == b"0123456789"
    await api.add_toxic("p", type="limit_data", attributes={"bytes": 5})
    server_writer.write(b"abcdefg")
    assert await read_until_closed(reader) == (b"abcde", "fin")
    writer.close()


async def test_update_releases_a_delayed_chunk_at_once(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="latency", attributes={"latency": 2000})
    start = time.perf_counter()
    server_writer.write(b"held")
    reading = asyncio.ensure_future(reader.readexactly(4))
    done, _ = await asyncio.wait([reading], timeout=0.1)
    assert not done  # delayed
    await api.update_toxic("p", "latency_downstream", attributes={"latency": 0})
    assert await asyncio.wait_for(reading, WAIT) == b"held"
    assert time.perf_counter() - start < 1.5  # well before the 2 s delay
    writer.close()


async def test_update_applies_new_values_to_open_connections(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", type="latency", attributes={"latency": 20})
    reader, writer = await connect(created["listen"])
    assert await round_trip(reader, writer, b"x") >= 0.020
    await api.update_toxic("p", "latency_downstream", attributes={"latency": 120})
    assert 0.120 <= await round_trip(reader, writer, b"y") < 1.0
    writer.close()


async def test_update_keeps_limit_data_count(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="limit_data", attributes={"bytes": 10})
    server_writer.write(b"012345")
    assert await asyncio.wait_for(reader.readexactly(6), WAIT) == b"012345"
    await api.update_toxic("p", "limit_data_downstream", attributes={"bytes": 8})
    server_writer.write(b"abcde")
    assert await read_until_closed(reader) == (b"ab", "fin")
    writer.close()


async def test_removal_releases_the_latency_backlog_in_order(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="latency", attributes={"latency": 3000})
    start = time.perf_counter()
    for index in range(5):
        server_writer.write(b"msg%d;" % index)
        await asyncio.sleep(0.01)
    await api.remove_toxic("p", "latency_downstream")
    received = await asyncio.wait_for(reader.readexactly(25), WAIT)
    assert received == b"msg0;msg1;msg2;msg3;msg4;"
    assert time.perf_counter() - start < 1.5
    writer.close()


async def test_removing_timeout_closes_its_connections_even_untoxic(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", type="timeout", attributes={"timeout": 0}, toxicity=0)
    reader, writer = await connect(created["listen"])
    await round_trip(reader, writer, b"passes: toxicity 0")
    await api.remove_toxic("p", "timeout_downstream")
    assert await read_until_closed(reader) == (b"", "fin")
    writer.close()


async def held_close(
    api: Api, upstream: Upstream
) -> tuple[asyncio.StreamWriter, asyncio.Future[bytes]]:
    """A connection whose upstream has closed while a 10 s ``slow_close`` holds the close.

    Returns:
        The client's writer and its pending read, which ends when the close is let through.
    """
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="slow_close", attributes={"delay": 10_000})
    server_writer.close()
    reading = asyncio.ensure_future(reader.read(100))
    done, _ = await asyncio.wait([reading], timeout=0.1)
    assert not done  # the close is held
    return writer, reading


async def test_removing_slow_close_while_it_waits_closes_at_once(
    api: Api, upstream: Upstream
) -> None:
    writer, reading = await held_close(api, upstream)
    await api.remove_toxic("p", "slow_close_downstream")
    assert await asyncio.wait_for(reading, WAIT) == b""  # closed at once, not after 10 s
    writer.close()


async def test_updating_slow_close_while_it_waits_restarts_with_the_new_delay(
    api: Api, upstream: Upstream
) -> None:
    writer, reading = await held_close(api, upstream)
    updated = time.perf_counter()
    await api.update_toxic("p", "slow_close_downstream", attributes={"delay": 300})
    assert await asyncio.wait_for(reading, WAIT) == b""
    # As in Toxiproxy, the restarted stage sees the end again and waits its new delay.
    assert 0.300 <= time.perf_counter() - updated < 5.0
    writer.close()


async def test_removing_fired_reset_peer_waits_out_its_timer(api: Api, upstream: Upstream) -> None:
    created = await api.create_proxy("p", upstream.address)
    await api.add_toxic("p", type="reset_peer", attributes={"timeout": 600}, stream="upstream")
    reader, writer = await connect(created["listen"])
    await upstream.accept()
    fired = time.perf_counter()
    writer.write(b"fires it")
    await asyncio.sleep(0.2)  # nothing to observe: the toxic drops the chunk and waits
    await api.remove_toxic("p", "reset_peer_upstream")
    # The removal returned only once the timer, started after `fired`, ran out.
    assert time.perf_counter() - fired >= 0.600
    assert (await read_until_closed(reader))[1] == "rst"
    writer.close()


async def test_new_connections_use_the_current_chain(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", type="latency", attributes={"latency": 1000})
    await api.remove_toxic("p", "latency_downstream")
    reader, writer = await connect(created["listen"])
    assert await round_trip(reader, writer, b"clean") < 0.5
    writer.close()


async def test_byte_order_is_kept_while_toxics_churn(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    reader, writer = await connect(created["listen"])
    payload = random.Random(7).randbytes(1_500_000)
    received = bytearray()
    sent = asyncio.Event()
    steps = 0

    async def send() -> None:
        for offset in range(0, len(payload), 3000):
            writer.write(payload[offset : offset + 3000])
            await writer.drain()
            await asyncio.sleep(0.001)
        sent.set()

    async def receive() -> None:
        while len(received) < len(payload):
            received.extend(await asyncio.wait_for(reader.read(65536), WAIT))

    async def churn() -> None:
        rng = random.Random(11)
        kinds = [
            ("latency", {"latency": 2, "jitter": 2}),
            ("slicer", {"average_size": 700, "size_variation": 300}),
            ("noop", {}),
            ("bandwidth", {"rate": 50_000}),
        ]
        nonlocal steps
        live: list[str] = []
        while not sent.is_set():
            steps += 1
            step = steps
            if live and rng.random() < 0.4:
                await api.remove_toxic("p", live.pop(rng.randrange(len(live))))
            elif live and rng.random() < 0.3:
                name = rng.choice(live)
                await api.update_toxic("p", name, toxicity=rng.choice([0.0, 1.0]))
            else:
                kind, attributes = rng.choice(kinds)
                name = f"t{step}"
                stream = rng.choice(["upstream", "downstream"])
                await api.add_toxic("p", name=name, type=kind, attributes=attributes, stream=stream)
                live.append(name)
            await asyncio.sleep(0.005)
        for name in live:
            await api.remove_toxic("p", name)

    await asyncio.wait_for(asyncio.gather(send(), receive(), churn()), 30)
    assert steps >= 20  # the chain changed many times while bytes flowed
    assert bytes(received) == payload
    writer.close()
