"""Benchmark of the emulator against a bare aiohttp WebSocket server measured in the same run.

Both servers run in their own process (so their CPU time and memory can be read from /proc) and
answer the same ``{"action":"ping","timestamp":T}`` with ``{"action":"pong","timestamp":T}``: the
emulator through its two-way ``ping`` route and async Lambda handler (route selection, event,
invocation, route response), the bare server straight from its receive loop. Rounds alternate
between the two, so drift on a shared machine hits both alike. Figures:

1. Round trip, one message at a time: p50/p95/p99 and messages per second. Aim: at most 1.5x bare.
2. Pipelined: a burst of messages written without waiting, then every reply read: messages per
   second. Aim: at least 0.5x bare.
3. Server CPU per message (user + system, over phases 1 and 2).
4. Server memory per idle connection: RSS growth over 5,000 open connections (the emulator's idle
   and 2-hour timers armed, its connection-rate limit lifted), divided by 5,000. Aim: at most 2x.

Usage::

    python bench/emulator.py [--messages 5000] [--burst 25000] [--rounds 5] [--connections 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

# Run as a script, this file's directory comes first on sys.path, and this file's name would
# shadow the ``emulator`` package it measures.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

from websockets.asyncio.client import ClientConnection, connect

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the servers (child processes) -----------------------------------------------------------------


def serve_emulator() -> None:
    """The emulator's sample API at real time (10-minute and 2-hour timers armed), no rate limit."""
    from emulator import ApiConfig, EmulatorServer

    config = ApiConfig.from_mapping(
        {"limits": {"new_connections_per_second": None}}, source="bench"
    )
    with EmulatorServer(config) as server:
        print(server.ws_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def serve_bare() -> None:
    """The baseline: a bare aiohttp WebSocket server answering ping with pong."""
    from aiohttp import WSMsgType, web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                data = json.loads(msg.data)
                if data.get("action") == "ping":
                    await ws.send_str(
                        json.dumps({"action": "pong", "timestamp": data.get("timestamp")})
                    )
        return ws

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/prod", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        port = runner.addresses[0][1]
        print(f"ws://127.0.0.1:{port}/prod", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


class Server:
    """A server child process and its /proc figures."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url:
            raise SystemExit(f"the {kind} server did not start")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime

    def rss_bytes(self) -> int:
        return int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1]) * PAGE

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- the load --------------------------------------------------------------------------------------


def ws(url: str) -> connect:
    """A client connection with no keepalive, compression or queue limit."""
    return connect(url, ping_interval=None, compression=None, max_queue=None, open_timeout=30)


async def round_trips(conn: ClientConnection, count: int) -> list[float]:
    """Round-trip times in seconds, one message at a time."""
    samples = []
    for i in range(count):
        started = time.perf_counter()
        await conn.send(f'{{"action":"ping","timestamp":{i}}}')
        await conn.recv()
        samples.append(time.perf_counter() - started)
    return samples


async def pipelined(conn: ClientConnection, count: int) -> float:
    """Messages per second for a burst written without waiting for replies."""
    started = time.perf_counter()

    async def writer() -> None:
        for i in range(count):
            await conn.send(f'{{"action":"ping","timestamp":{i}}}')

    task = asyncio.create_task(writer())
    for _ in range(count):
        await conn.recv()
    await task
    return count / (time.perf_counter() - started)


async def idle_memory(server: Server, count: int) -> float:
    """RSS growth per open idle connection, in bytes."""
    await asyncio.sleep(0.5)
    before = server.rss_bytes()
    semaphore = asyncio.Semaphore(64)
    conns: list[ClientConnection] = []

    async def open_one() -> None:
        async with semaphore:
            conns.append(await ws(server.url))

    await asyncio.gather(*(open_one() for _ in range(count)))
    await asyncio.sleep(1.0)  # let the server settle (handshake buffers freed)
    after = server.rss_bytes()
    await asyncio.gather(*(c.close() for c in conns))
    return (after - before) / count


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


async def run(args: argparse.Namespace) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 2 * args.connections + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # inherited by the servers
    servers = {"bare": Server("bare"), "emulator": Server("emulator")}
    try:
        latencies: dict[str, list[float]] = {name: [] for name in servers}
        sequential: dict[str, list[float]] = {name: [] for name in servers}
        bursts: dict[str, list[float]] = {name: [] for name in servers}
        cpu: dict[str, float] = dict.fromkeys(servers, 0.0)
        handled: dict[str, int] = dict.fromkeys(servers, 0)
        conns = {name: await ws(server.url) for name, server in servers.items()}
        for name in servers:  # warm up
            await round_trips(conns[name], 200)
        per_round = max(1, args.messages // args.rounds)
        for _ in range(args.rounds):
            for name, server in servers.items():
                start_cpu = server.cpu_seconds()
                started = time.perf_counter()
                samples = await round_trips(conns[name], per_round)
                sequential[name].append(per_round / (time.perf_counter() - started))
                latencies[name] += samples
                bursts[name].append(await pipelined(conns[name], args.burst // args.rounds))
                cpu[name] += server.cpu_seconds() - start_cpu
                handled[name] += per_round + args.burst // args.rounds
        for conn in conns.values():
            await conn.close()
        gc.collect()
        memory = {
            name: await idle_memory(server, args.connections) for name, server in servers.items()
        }
    finally:
        for server in servers.values():
            server.stop()

    bare, emu = "bare", "emulator"
    print(f"round trip, one at a time ({args.rounds} alternating rounds, {per_round} each)")
    for name in servers:
        lat = latencies[name]
        print(
            f"  {name:9} p50 {ms(statistics.median(lat))}  p95 {ms(percentile(lat, 0.95))}  "
            f"p99 {ms(percentile(lat, 0.99))}  {statistics.median(sequential[name]):8.0f} msg/s"
        )
    rt_ratio = statistics.median(latencies[emu]) / statistics.median(latencies[bare])
    print(f"  ratio p50 emulator / bare   {rt_ratio:.2f}x (aim <= 1.5x)")
    print(f"pipelined ({args.burst // args.rounds} messages per burst)")
    for name in servers:
        print(f"  {name:9} {statistics.median(bursts[name]):8.0f} msg/s (median of {args.rounds})")
    pipe_ratio = statistics.median(bursts[emu]) / statistics.median(bursts[bare])
    print(f"  ratio emulator / bare       {pipe_ratio:.2f}x (aim >= 0.5x)")
    print("server CPU per message (user + system)")
    for name in servers:
        print(f"  {name:9} {cpu[name] / handled[name] * 1e6:7.1f} us")
    cpu_ratio = (cpu[emu] / handled[emu]) / (cpu[bare] / handled[bare])
    print(f"  ratio emulator / bare       {cpu_ratio:.2f}x")
    print(f"server memory per idle connection ({args.connections} connections)")
    for name in servers:
        print(f"  {name:9} {memory[name] / 1024:7.1f} KiB")
    print(f"  ratio emulator / bare       {memory[emu] / memory[bare]:.2f}x (aim <= 2x)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="round trips per server")
    parser.add_argument("--burst", type=int, default=25000, help="pipelined messages per server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--connections", type=int, default=5000, help="idle connections")
    parser.add_argument("--serve", choices=["emulator", "bare"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve == "emulator":
        serve_emulator()
    elif args.serve == "bare":
        serve_bare()
    else:
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
