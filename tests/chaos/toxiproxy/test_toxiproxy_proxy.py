"""The data path of a proxy: pass-through, close semantics, down, dial failures, back-pressure."""

from __future__ import annotations

import asyncio
import random
import socket
import time

import aiohttp
import pytest
from toxiproxy_support import WAIT, Api, Upstream, connect, read_until_closed, round_trip

from chaos.toxiproxy import EmbeddedToxiproxy


async def test_large_transfer_both_ways_is_intact(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    reader, writer = await connect(created["listen"])
    payload = random.Random(5).randbytes(4_000_000)

    async def send() -> None:
        writer.write(payload)
        await writer.drain()

    sending = asyncio.ensure_future(send())
    received = await asyncio.wait_for(reader.readexactly(len(payload)), WAIT)
    await sending
    assert received == payload
    writer.close()


async def test_client_fin_tears_down_both_sides_after_flushing(
    api: Api, upstream: Upstream
) -> None:
    created = await api.create_proxy("p", upstream.address)
    reader, writer = await connect(created["listen"])
    server_reader, server_writer = await upstream.accept()
    writer.write(b"request")
    writer.write_eof()
    # The upstream gets the data, then EOF; no half-close: the client side is closed as well.
    assert await read_until_closed(server_reader) == (b"request", "fin")
    assert await read_until_closed(reader) == (b"", "fin")
    server_writer.close()


async def test_upstream_close_reaches_the_client_after_its_data(
    api: Api, upstream: Upstream
) -> None:
    created = await api.create_proxy("p", upstream.address)
    reader, writer = await connect(created["listen"])
    _server_reader, server_writer = await upstream.accept()
    server_writer.write(b"response")
    server_writer.close()
    assert await read_until_closed(reader) == (b"response", "fin")
    writer.close()


async def test_unreachable_upstream_closes_the_client(api: Api) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    free = probe.getsockname()[1]
    probe.close()
    created = await api.create_proxy("p", f"127.0.0.1:{free}")
    reader, writer = await connect(created["listen"])  # the connect itself succeeds
    assert (await read_until_closed(reader))[0] == b""
    writer.close()
    for name, bad in [
        ("q", "no-such-host.invalid:80"),
        ("r", "no port"),
        ("s", "x:99999"),
        ("t", "a" * 64 + ".example:80"),  # the resolver's IDNA encoding refuses the name
        ("u", "nul\x00:80"),
    ]:
        created = await api.create_proxy(name, bad)  # never validated at create
        reader, writer = await connect(created["listen"])
        assert (await read_until_closed(reader))[0] == b""
        writer.close()


async def test_disabling_drops_both_sides_and_refuses(api: Api, upstream: Upstream) -> None:
    created = await api.create_proxy("p", upstream.address)
    await api.add_toxic("p", type="latency", attributes={"latency": 1})
    clients = [await connect(created["listen"]) for _ in range(3)]
    servers = [await upstream.accept() for _ in range(3)]
    await api.set_enabled("p", False)
    for reader, _ in clients:
        assert (await read_until_closed(reader))[0] == b""
    for server_reader, _ in servers:
        assert (await read_until_closed(server_reader))[0] == b""
    with pytest.raises(ConnectionRefusedError):
        await connect(created["listen"])
    _, toxics = await api.call("GET", "/proxies/p/toxics")
    assert len(toxics) == 1  # toxics are kept while down


async def test_deleting_closes_connections(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    reader, writer = await connect(created["listen"])
    await round_trip(reader, writer, b"x")
    status, _ = await api.call("DELETE", "/proxies/p")
    assert status == 204
    assert (await read_until_closed(reader))[0] == b""
    with pytest.raises(ConnectionRefusedError):
        await connect(created["listen"])


async def test_stalled_stream_pushes_back_on_the_sender(api: Api, upstream: Upstream) -> None:
    created = await api.create_proxy("p", upstream.address)
    await api.add_toxic("p", type="bandwidth", attributes={"rate": 0}, stream="upstream")
    _reader, writer = await connect(created["listen"])
    server_reader, server_writer = await upstream.accept()
    payload = random.Random(9).randbytes(24_000_000)
    writer.write(payload)
    with pytest.raises(TimeoutError):
        # Bounded buffering: the proxy stops reading, so the client cannot flush 24 MB.
        await asyncio.wait_for(asyncio.shield(writer.drain()), 0.5)
    await api.remove_toxic("p", "bandwidth_upstream")
    received = await asyncio.wait_for(server_reader.readexactly(len(payload)), WAIT)
    assert received == payload
    writer.close()
    server_writer.close()


async def test_stopping_the_server_closes_everything(echo: str, upstream: Upstream) -> None:
    server = EmbeddedToxiproxy().start()
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, server.url)
            created = await api.create_proxy("p", echo)
            # A second proxy whose connection is held by a stalled stream and a fired
            # reset_peer: stopping must not wait for either.
            held = await api.create_proxy("held", upstream.address)
            await api.add_toxic("held", type="bandwidth", attributes={"rate": 0})
            await api.add_toxic(
                "held", type="reset_peer", attributes={"timeout": 60_000}, stream="upstream"
            )
        reader, writer = await connect(created["listen"])
        await round_trip(reader, writer, b"x")
        held_reader, held_writer = await connect(held["listen"])
        await upstream.accept()
        held_writer.write(b"fires the reset_peer")
        start = time.perf_counter()
        await asyncio.to_thread(server.stop)
        assert time.perf_counter() - start < 5.0
    finally:
        await asyncio.to_thread(server.stop)
    assert (await read_until_closed(reader))[0] == b""
    assert (await read_until_closed(held_reader))[0] == b""
    with pytest.raises(ConnectionRefusedError):
        await connect(created["listen"])
    writer.close()
    held_writer.close()
