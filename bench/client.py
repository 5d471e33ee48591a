"""Benchmark of the resilient client against baselines measured in the same run, on one emulator.

1. Query round trip: ``send_query`` against a bare ``websockets`` client that sends the same
   ``finops_query`` and waits for the same result frame. Rounds alternate between the two, so
   drift on a shared machine hits both alike. Aim: at most 1.3x the bare client.
2. Reconnect: after the gateway drops the client's TCP connection (an abrupt close, no close
   frame), the real time from the client noticing the loss (RECONNECTING) to CONNECTED, against
   a fresh ``websockets`` connect. The first attempt is immediate (no backoff before attempt 1).
   Each round does one of each, so drift hits both alike. Aim: within 2x a fresh connect.

Figures are medians with their spread (p10-p90), in milliseconds. Usage::

    python bench/client.py [--queries 500] [--rounds 5] [--reconnects 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

# Run as a script, this file's directory comes first on sys.path, and this file's name would
# shadow the ``client`` package it measures.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import aiohttp
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection, connect

from chaos.control import EmulatorControl
from client import ConnectionState, ResilientWebSocketClient, StatusChange
from emulator import EmulatorServer

QUERY = "EC2 spend last month"


def summary(samples: Sequence[float]) -> str:
    """Median and p10-p90 of ``samples`` (seconds) in milliseconds."""
    ordered = sorted(samples)
    p10 = ordered[int(0.1 * (len(ordered) - 1))]
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return (
        f"median {statistics.median(ordered) * 1000:7.3f} ms "
        f"(p10 {p10 * 1000:.3f}, p90 {p90 * 1000:.3f}, n={len(ordered)})"
    )


async def bare_queries(ws: ClientConnection, count: int) -> list[float]:
    """The baseline: send the query, read frames until its result."""
    latencies = []
    for _ in range(count):
        query_id = uuid.uuid4().hex
        message = {"action": "finops_query", "query_id": query_id, "query": QUERY}
        started = time.perf_counter()
        await ws.send(json.dumps(message))
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("query_id") == query_id and frame.get("type") in ("result", "error"):
                break
        latencies.append(time.perf_counter() - started)
    return latencies


async def client_queries(client: ResilientWebSocketClient, count: int) -> list[float]:
    """``send_query`` one at a time; every answer must come over the WebSocket."""
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        result = await client.send_query(QUERY)
        latencies.append(time.perf_counter() - started)
        if result.transport != "websocket":
            raise RuntimeError(f"query went over {result.transport}: the benchmark is invalid")
    return latencies


async def fresh_connect(ws_url: str) -> float:
    """The baseline: real seconds for one ``websockets`` connect, with the client's options."""
    started = time.perf_counter()
    ws = await connect(ws_url, ping_interval=None, compression=None)
    elapsed = time.perf_counter() - started
    await ws.close()
    return elapsed


async def reconnects(
    client: ResilientWebSocketClient, ws_url: str, http_url: str, count: int
) -> tuple[list[float], list[float], list[float]]:
    """Abrupt closes by the gateway, each round preceded by a fresh connect (the baseline).

    Returns:
        Real seconds of each fresh connect; from the loss noticed to CONNECTED; and from the
        close sent to CONNECTED.
    """
    changes: asyncio.Queue[StatusChange] = asyncio.Queue()
    unsubscribe = client.subscribe(changes.put_nowait)
    fresh, after_loss, after_close = [], [], []
    async with aiohttp.ClientSession() as http:
        control = EmulatorControl(http_url, http)
        for _ in range(count):
            await client.ensure_connection()
            (connection,) = await control.connections()
            fresh.append(await fresh_connect(ws_url))  # listed first: it is not the client's
            while not changes.empty():
                changes.get_nowait()
            close = f"connections/{connection['connectionId']}/close"
            sent = time.monotonic()
            await control.request("POST", close, {"abrupt": True})
            lost = None
            while True:
                change = await asyncio.wait_for(changes.get(), 10)
                if change.new is ConnectionState.RECONNECTING and lost is None:
                    lost = change.at
                if change.new is ConnectionState.CONNECTED:
                    break
                if change.new is ConnectionState.FAILED:
                    raise RuntimeError(f"reconnect failed: {change.reason}")
            assert lost is not None
            after_loss.append(change.at - lost)
            after_close.append(change.at - sent)
    unsubscribe()
    return fresh, after_loss, after_close


async def main(argv: Sequence[str] | None = None) -> int:
    """Run both comparisons on one emulator and print the figures; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=500, help="queries per round and client")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    parser.add_argument("--reconnects", type=int, default=200, help="abrupt closes (and connects)")
    args = parser.parse_args(argv)

    with EmulatorServer(config=None, time_scale=1.0) as server:
        client = ResilientWebSocketClient(
            server.ws_url,
            rest_url=server.rest_url,
            heartbeat_interval=None,  # no pings in the measured traffic: like the bare client
            registry=CollectorRegistry(),
        )
        bare = await connect(server.ws_url, ping_interval=None, compression=None)
        await client.ensure_connection()
        await bare_queries(bare, 20)  # warm-up: imports, JIT-free but caches and the ledger
        await client_queries(client, 20)
        bare_lat: list[float] = []
        client_lat: list[float] = []
        for _ in range(args.rounds):
            bare_lat += await bare_queries(bare, args.queries)
            client_lat += await client_queries(client, args.queries)
        await bare.close()

        fresh, after_loss, after_close = await reconnects(
            client, server.ws_url, server.http_url, args.reconnects
        )
        await client.close()

    query_ratio = statistics.median(client_lat) / statistics.median(bare_lat)
    reconnect_ratio = statistics.median(after_loss) / statistics.median(fresh)
    print(f"query round trip ({args.rounds} alternating rounds of {args.queries})")
    print(f"  bare websockets client   {summary(bare_lat)}")
    print(f"  send_query               {summary(client_lat)}")
    print(f"  ratio send_query / bare  {query_ratio:.2f}x (aim <= 1.3x)")
    print(f"reconnect after an abrupt close ({args.reconnects} times)")
    print(f"  fresh websockets connect {summary(fresh)}")
    print(f"  loss noticed -> CONNECTED {summary(after_loss)}")
    print(f"  close sent -> CONNECTED  {summary(after_close)}")
    print(f"  ratio reconnect / fresh  {reconnect_ratio:.2f}x (aim <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
