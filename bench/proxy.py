"""Benchmark of the embedded Toxiproxy against a minimal asyncio copy relay, in one run.

A WebSocket echo server (``websockets``, compression off) runs on its own loop in a thread; a
client on the main loop reaches it three ways:

- ``direct``: straight to the echo server;
- ``relay``: through a minimal asyncio copy relay (``StreamReader.read`` -> ``write`` + ``drain``,
  one task per direction) on its own loop in a thread: the baseline;
- ``embedded``: through a proxy of :class:`chaos.toxiproxy.EmbeddedToxiproxy` with no toxics.

Measured per path, in rounds that alternate the paths so drift on a shared machine hits all alike:

1. Round trip of one small message (sequential echoes). Aim: embedded <= 1.2x the relay.
2. Pipelined throughput: many 16 KiB messages sent while echoes are read. Aim: >= 0.8x the relay.
3. A ``latency`` toxic of L ms (downstream) on the embedded proxy: round trip minus L. Every
   trip leaves the machine idle for L ms, and waking idle threads on a loaded machine costs
   milliseconds by itself, so the same trips are also paced without the toxic (the client idles L
   ms before each): the toxic's own error is the difference. Aim: within 2 ms at p95.

Figures are medians of per-round medians, with their spread (min-max over rounds); ratios are
medians of the per-round ratios (each round measures both paths back to back), with their spread.
Usage::

    python bench/proxy.py [--rounds 9] [--trips 500] [--messages 1000] [--latency 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]  # run as a script: keep bench/ from shadowing installed modules

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve

from chaos.proxies import ToxiproxyClient
from chaos.testing import LoopThread  # servers on their own loops, off the measuring one
from chaos.toxiproxy import EmbeddedToxiproxy

SMALL = b"x" * 64
LARGE = b"y" * 16 * 1024


async def echo_handler(websocket: ServerConnection) -> None:
    """Send every message back."""
    async for message in websocket:
        await websocket.send(message)


async def start_echo() -> tuple[object, int]:
    """The WebSocket echo server and its port."""
    server = await serve(echo_handler, "127.0.0.1", 0, compression=None, max_size=None)
    return server, server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def start_relay(upstream_port: int) -> tuple[asyncio.Server, int]:
    """The baseline: the smallest correct asyncio relay, one copy task per direction."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def round_trips(ws: ClientConnection, count: int) -> list[float]:
    """Seconds for each of ``count`` sequential echoes of a small message."""
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        await ws.send(SMALL)
        await ws.recv()
        samples.append(time.perf_counter() - start)
    return samples


async def throughput(ws: ClientConnection, count: int) -> float:
    """Echoed payload bytes per second with ``count`` pipelined 16 KiB messages."""

    async def sender() -> None:
        for _ in range(count):
            await ws.send(LARGE)

    start = time.perf_counter()
    sending = asyncio.ensure_future(sender())
    for _ in range(count):
        await ws.recv()
    await sending
    return count * len(LARGE) / (time.perf_counter() - start)


def spread(values: Sequence[float], scale: float, unit: str, digits: int = 3) -> str:
    """``median unit (spread min-max)`` of ``values`` times ``scale``."""
    return (
        f"{statistics.median(values) * scale:.{digits}f} {unit} "
        f"(spread {min(values) * scale:.{digits}f}-{max(values) * scale:.{digits}f})"
    )


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.95 for p95)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(args: argparse.Namespace) -> int:
    """Run every measurement, print the figures and whether the aims are met."""
    echo_thread, relay_thread = LoopThread("bench-echo"), LoopThread("bench-relay")
    echo_server, echo_port = echo_thread.run(start_echo())
    relay_server, relay_port = relay_thread.run(start_relay(echo_port))
    toxiproxy = EmbeddedToxiproxy(seed=1).start()
    try:
        async with ToxiproxyClient(toxiproxy.url) as api:
            proxy = await api.create_proxy("bench", upstream=f"127.0.0.1:{echo_port}")
            proxy_port = int(proxy.listen.rsplit(":", 1)[1])
            ports = {"direct": echo_port, "relay": relay_port, "embedded": proxy_port}
            rtt: dict[str, list[float]] = {name: [] for name in ports}
            rate: dict[str, list[float]] = {name: [] for name in ports}
            sockets = {
                name: await connect(f"ws://127.0.0.1:{port}", compression=None, max_size=None)
                for name, port in ports.items()
            }
            names = list(ports)
            for round_number in range(args.rounds):
                # Rotate the order each round so no path always follows the same one.
                order = names[round_number % 3 :] + names[: round_number % 3]
                samples: dict[str, list[float]] = {name: [] for name in order}
                for name in order:
                    await round_trips(sockets[name], 20)  # warm-up
                # Interleave in slices of 50 so machine noise hits every path alike.
                for _ in range(max(1, args.trips // 50)):
                    for name in order:
                        samples[name].extend(await round_trips(sockets[name], 50))
                for name in order:
                    rtt[name].append(statistics.median(samples[name]))
                for name in order:
                    rate[name].append(await throughput(sockets[name], args.messages))
            for ws in sockets.values():
                await ws.close()

            excess: list[float] = []
            paced: list[float] = []
            async with connect(
                f"ws://127.0.0.1:{proxy_port}", compression=None, max_size=None
            ) as ws:
                for _ in range(args.rounds):
                    for _ in range(args.latency_trips):
                        await asyncio.sleep(args.latency / 1000)
                        paced.extend(await round_trips(ws, 1))
                    await api.add_toxic(
                        "bench", type="latency", attributes={"latency": args.latency}
                    )
                    for sample in await round_trips(ws, args.latency_trips):
                        excess.append(sample - args.latency / 1000)
                    await api.remove_toxic("bench", "latency_downstream")
    finally:
        toxiproxy.stop()
        relay_thread.run(_close(relay_server))
        echo_thread.run(_close(echo_server))
        relay_thread.stop()
        echo_thread.stop()

    print(
        f"rounds {args.rounds}: {args.trips} round trips of {len(SMALL)} B and "
        f"{args.messages} pipelined messages of {len(LARGE) // 1024} KiB per path and round"
    )
    print("round trip (median of round medians):")
    for name in ports:
        print(f"  {name:9s} {spread(rtt[name], 1000, 'ms')}")
    print("pipelined throughput (echoed payload):")
    for name in ports:
        print(f"  {name:9s} {spread(rate[name], 1 / 1e6, 'MB/s', 1)}")
    rtt_ratios = [e / r for e, r in zip(rtt["embedded"], rtt["relay"], strict=True)]
    rate_ratios = [e / r for e, r in zip(rate["embedded"], rate["relay"], strict=True)]
    rtt_ratio, rate_ratio = statistics.median(rtt_ratios), statistics.median(rate_ratios)
    p50, p95 = percentile(excess, 0.5) * 1000, percentile(excess, 0.95) * 1000
    base50, base95 = percentile(paced, 0.5) * 1000, percentile(paced, 0.95) * 1000
    print(f"embedded / relay round trip: {spread(rtt_ratios, 1, 'x', 2)} (aim <= 1.2x)")
    print(f"embedded / relay throughput: {spread(rate_ratios, 1, 'x', 2)} (aim >= 0.8x)")
    print(
        f"latency toxic {args.latency} ms, round trip minus setting ({len(excess)} trips): "
        f"p50 {p50:.3f} ms, p95 {p95:.3f} ms, min {min(excess) * 1000:.3f} ms"
    )
    print(
        f"same trips paced without the toxic ({len(paced)} trips): "
        f"p50 {base50:.3f} ms, p95 {base95:.3f} ms"
    )
    print(
        f"latency toxic error: p50 {p50 - base50:+.3f} ms, p95 {p95 - base95:+.3f} ms "
        f"(aim p95 within 2 ms; never early: min >= 0)"
    )
    met = rtt_ratio <= 1.2 and rate_ratio >= 0.8 and abs(p95 - base95) <= 2.0 and min(excess) >= 0
    print("aims met" if met else "aims NOT met")
    return 0


async def _close(server: object) -> None:
    server.close()  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--trips", type=int, default=500, help="round trips per path and round")
    parser.add_argument("--messages", type=int, default=1000, help="pipelined messages per round")
    parser.add_argument("--latency", type=int, default=20, help="latency toxic, ms")
    parser.add_argument("--latency-trips", type=int, default=60, help="per round")
    return asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
