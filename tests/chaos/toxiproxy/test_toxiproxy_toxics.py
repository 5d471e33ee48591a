"""Each toxic's semantics through real sockets (fact sheet §2.4). Timing bounds are one-sided:
tight below, generous above."""

from __future__ import annotations

import asyncio
import itertools
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

from chaos.toxiproxy.stream import Chunk, ChunkQueue
from chaos.toxiproxy.stub import ToxicStub
from chaos.toxiproxy.toxics.slicer import SlicerToxic, slice_bounds

# --- latency ------------------------------------------------------------------------------------


async def test_latency_delays_each_round_trip(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", type="latency", attributes={"latency": 100})
    reader, writer = await connect(created["listen"])
    trips = [await round_trip(reader, writer, b"ping") for _ in range(3)]
    assert min(trips) >= 0.100  # never early
    # Under 150 ms, judged on the best of three so one scheduling hiccup on a busy machine
    # does not fail it.
    assert min(trips) < 0.150
    writer.close()


async def test_latency_is_pipelined(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="latency", attributes={"latency": 100})
    sent: list[float] = []
    # 0, 20, ... 180 ms: ten messages sent while the first is still delayed
    for index in range(10):
        sent.append(time.perf_counter())
        server_writer.write(b"%02d" % index)
        await asyncio.sleep(0.02)
    for index in range(10):
        assert await asyncio.wait_for(reader.readexactly(2), WAIT) == b"%02d" % index
        assert time.perf_counter() - sent[index] >= 0.100
    # Serialised delays would need a second; pipelined ones end ~100 ms after the last send.
    assert time.perf_counter() - sent[0] < 0.6
    writer.close()


async def test_latency_toxics_stack(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", name="a", type="latency", attributes={"latency": 50})
    await api.add_toxic("p", name="b", type="latency", attributes={"latency": 50})
    await api.add_toxic(
        "p", name="c", type="latency", attributes={"latency": 40}, stream="upstream"
    )
    reader, writer = await connect(created["listen"])
    assert 0.140 <= await round_trip(reader, writer, b"x") < 0.3
    writer.close()


async def test_latency_jitter_stays_in_range_and_keeps_order(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="latency", attributes={"latency": 60, "jitter": 40})
    start = time.perf_counter()
    payload = bytes(range(200))
    for byte in payload:
        server_writer.write(bytes([byte]))
        await asyncio.sleep(0.001)
    sent = time.perf_counter()
    first = await asyncio.wait_for(reader.readexactly(1), WAIT)
    assert time.perf_counter() - start >= 0.020  # latency - jitter
    rest = await asyncio.wait_for(reader.readexactly(len(payload) - 1), WAIT)
    assert first + rest == payload  # jitter never reorders bytes
    # The last byte is due at most latency + jitter (100 ms) after it was sent.
    assert time.perf_counter() - sent < 0.100 + 0.5
    writer.close()


# --- bandwidth ----------------------------------------------------------------------------------


async def test_bandwidth_limits_throughput_with_kb_of_1000_bytes(
    api: Api, upstream: Upstream
) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="bandwidth", attributes={"rate": 1000})
    payload = random.Random(1).randbytes(480_000)
    start = time.perf_counter()
    server_writer.write(payload)
    received = await asyncio.wait_for(reader.readexactly(len(payload)), WAIT)
    elapsed = time.perf_counter() - start
    assert received == payload
    assert 0.470 <= elapsed < 3.0
    writer.close()


async def test_bandwidth_rate_zero_stalls_until_removed(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="bandwidth", attributes={"rate": 0})
    server_writer.write(b"held back")
    reading = asyncio.ensure_future(reader.readexactly(9))
    done, _ = await asyncio.wait([reading], timeout=0.3)
    assert not done  # nothing arrives while the stream stalls
    await api.remove_toxic("p", "bandwidth_downstream")
    assert await asyncio.wait_for(reading, WAIT) == b"held back"
    writer.close()


async def test_bandwidth_rate_zero_flows_after_update(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="bandwidth")  # rate omitted: 0
    server_writer.write(b"x" * 1000)
    reading = asyncio.ensure_future(reader.readexactly(1000))
    done, _ = await asyncio.wait([reading], timeout=0.15)
    assert not done  # stalled
    await api.update_toxic("p", "bandwidth_downstream", attributes={"rate": 100})
    assert await asyncio.wait_for(reading, WAIT) == b"x" * 1000
    writer.close()


# --- slow_close ---------------------------------------------------------------------------------


async def test_slow_close_holds_the_close_but_not_the_data(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="slow_close", attributes={"delay": 300})
    server_writer.write(b"last words")
    assert await asyncio.wait_for(reader.readexactly(10), WAIT) == b"last words"
    start = time.perf_counter()
    server_writer.close()
    data, how = await read_until_closed(reader)
    assert (data, how) == (b"", "fin")
    assert 0.300 <= time.perf_counter() - start < 2.0
    writer.close()


# --- timeout ------------------------------------------------------------------------------------


async def test_timeout_drops_data_and_closes_when_idle(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="timeout", attributes={"timeout": 300})
    start = time.perf_counter()
    # Traffic every 100 ms restarts the idle timer: the connection outlives 300 ms.
    for _ in range(7):
        server_writer.write(b"dropped")
        await asyncio.sleep(0.1)
    last = time.perf_counter() - 0.1
    data, how = await read_until_closed(reader)
    closed = time.perf_counter()
    assert (data, how) == (b"", "fin")
    assert closed - start >= 0.9
    assert closed - last >= 0.3
    writer.close()


async def test_timeout_zero_never_closes_and_removal_closes(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="timeout", attributes={"timeout": 0})
    server_writer.write(b"dropped")
    reading = asyncio.ensure_future(reader.read(100))
    done, _ = await asyncio.wait([reading], timeout=0.4)
    assert not done  # open, and nothing delivered
    await api.remove_toxic("p", "timeout_downstream")
    assert await asyncio.wait_for(reading, WAIT) == b""  # removal closed it
    writer.close()


# --- reset_peer ---------------------------------------------------------------------------------


async def test_reset_peer_present_at_connect_sends_rst(api: Api, upstream: Upstream) -> None:
    created = await api.create_proxy("p", upstream.address)
    await api.add_toxic("p", type="reset_peer", attributes={"timeout": 200})
    reader, writer = await connect(created["listen"])
    server_reader, server_writer = await upstream.accept()
    start = time.perf_counter()
    server_writer.write(b"first chunk is dropped")
    data, how = await read_until_closed(reader)
    assert (data, how) == (b"", "rst")
    assert time.perf_counter() - start >= 0.200
    # Both sockets had SO_LINGER 0: the upstream side is reset too.
    _, upstream_how = await read_until_closed(server_reader)
    assert upstream_how == "rst"
    writer.close()


async def test_reset_peer_added_to_open_connection_closes_with_fin(
    api: Api, upstream: Upstream
) -> None:
    (reader, writer), (server_reader, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="reset_peer", attributes={"timeout": 0})
    server_writer.write(b"dropped")
    assert await read_until_closed(reader) == (b"", "fin")
    assert (await read_until_closed(server_reader))[1] == "fin"
    writer.close()


async def test_reset_peer_on_upstream_stream_fires_on_client_data(
    api: Api, upstream: Upstream
) -> None:
    created = await api.create_proxy("p", upstream.address)
    await api.add_toxic("p", type="reset_peer", stream="upstream")
    reader, writer = await connect(created["listen"])
    server_reader, _ = await upstream.accept()
    writer.write(b"never delivered")
    assert await read_until_closed(server_reader) == (b"", "rst")
    assert (await read_until_closed(reader))[1] == "rst"
    writer.close()


# --- slicer -------------------------------------------------------------------------------------


class Recorder:
    """A stage output that records every write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = asyncio.Event()
        self.written = asyncio.Event()

    def put(self, chunk: Chunk | None) -> None:
        if chunk is None:
            self.closed.set()
        else:
            self.writes.append(chunk.data)
            self.written.set()


class NoBacklog:
    def grow(self, size: int) -> None:
        pass

    def shrink(self, size: int) -> None:
        pass


async def test_slicer_makes_24_one_byte_writes_of_24_bytes() -> None:
    recorder = Recorder()
    stub = ToxicStub(ChunkQueue(NoBacklog()), recorder, random.Random(0))
    stub.run(SlicerToxic(average_size=1, size_variation=0, delay=0), 1.0)
    stub.input.put(Chunk(bytes(range(24)), 0.0))
    stub.input.put(None)
    await asyncio.wait_for(recorder.closed.wait(), WAIT)
    assert recorder.writes == [bytes([i]) for i in range(24)]


async def test_slicer_interrupted_sends_the_rest_unsliced() -> None:
    recorder = Recorder()
    stub = ToxicStub(ChunkQueue(NoBacklog()), recorder, random.Random(0))
    stub.run(SlicerToxic(average_size=1, size_variation=0, delay=1_000_000), 1.0)
    stub.input.put(Chunk(b"abcdef", 0.0))
    await asyncio.wait_for(recorder.written.wait(), WAIT)
    assert await stub.interrupt()
    assert recorder.writes == [b"a", b"bcdef"]


def test_slice_bounds_cover_the_chunk_within_the_variation() -> None:
    rng = random.Random(3)
    for size in (1, 2, 7, 100, 1000, 32768):
        bounds = slice_bounds(size, 64, 16, rng)
        assert bounds[0][0] == 0 and bounds[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        assert all(0 < end - start <= 80 for start, end in bounds)


async def test_slicer_delivers_intact_with_delay_between_pieces(
    api: Api, upstream: Upstream
) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic(
        "p", type="slicer", attributes={"average_size": 1, "size_variation": 0, "delay": 10_000}
    )
    start = time.perf_counter()
    server_writer.write(b"abcdefghijklmnopqrstuvwx")
    assert await asyncio.wait_for(reader.readexactly(24), WAIT) == b"abcdefghijklmnopqrstuvwx"
    assert time.perf_counter() - start >= 23 * 0.010
    writer.close()


# --- limit_data ---------------------------------------------------------------------------------


async def test_limit_data_truncates_then_closes(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="limit_data", attributes={"bytes": 10})
    server_writer.write(b"0123456789abcdefghijklmno")
    assert await read_until_closed(reader) == (b"0123456789", "fin")
    writer.close()


async def test_limit_data_exactly_reached_closes(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="limit_data", attributes={"bytes": 10})
    server_writer.write(b"01234")
    assert await asyncio.wait_for(reader.readexactly(5), WAIT) == b"01234"
    server_writer.write(b"56789")
    assert await read_until_closed(reader) == (b"56789", "fin")
    writer.close()


async def test_limit_data_zero_closes_on_first_chunk(api: Api, upstream: Upstream) -> None:
    (reader, writer), (_, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="limit_data", attributes={"bytes": 0})
    server_writer.write(b"nothing of this")
    assert await read_until_closed(reader) == (b"", "fin")
    writer.close()


async def test_limit_data_counts_per_direction(api: Api, upstream: Upstream) -> None:
    (reader, writer), (server_reader, server_writer) = await proxied(api, upstream)
    await api.add_toxic("p", type="limit_data", attributes={"bytes": 6}, stream="upstream")
    server_writer.write(b"downstream is not counted")
    assert await asyncio.wait_for(reader.readexactly(25), WAIT) == b"downstream is not counted"
    writer.write(b"abc")
    assert await asyncio.wait_for(server_reader.readexactly(3), WAIT) == b"abc"
    writer.write(b"defgh")
    # The upstream gets the rest up to the limit, then a full close: the client is closed too.
    assert await read_until_closed(server_reader) == (b"def", "fin")
    assert await read_until_closed(reader) == (b"", "fin")
    writer.close()


# --- noop and toxicity --------------------------------------------------------------------------


async def test_noop_passes_through(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", type="noop")
    reader, writer = await connect(created["listen"])
    payload = random.Random(2).randbytes(200_000)
    writer.write(payload)
    assert await asyncio.wait_for(reader.readexactly(len(payload)), WAIT) == payload
    writer.close()


async def test_toxicity_is_drawn_per_connection(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", type="latency", attributes={"latency": 150}, toxicity=0.5)
    connections = [await connect(created["listen"]) for _ in range(8)]

    async def two_trips(reader, writer) -> list[bool]:
        return [await round_trip(reader, writer, b"x") >= 0.150 for _ in range(2)]

    slow = await asyncio.gather(*(two_trips(r, w) for r, w in connections))
    assert all(first == second for first, second in slow)  # a connection keeps its draw
    assert {first for first, _ in slow} == {True, False}  # and draws differ between them
    for _, writer in connections:
        writer.close()


async def test_toxicity_zero_never_applies(api: Api, echo: str) -> None:
    created = await api.create_proxy("p", echo)
    await api.add_toxic("p", type="limit_data", attributes={"bytes": 0}, toxicity=0)
    reader, writer = await connect(created["listen"])
    await round_trip(reader, writer, b"untouched")
    writer.close()
