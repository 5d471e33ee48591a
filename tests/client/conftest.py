"""Fixtures for the client's tests: a real emulator on loopback, its control API, and clients.

Time: the emulator and the clients run at N=600, so the 30 s heartbeat takes 50 ms and a 60 s
backoff window 100 ms. Budgets a test does not exercise are widened to seconds of real time (a
loaded 2-core machine must not fake a timeout), the heartbeat is off unless a test is about it,
and the gateway's idle timeout is lifted to 2 h (12 s real) unless a test is about idleness.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest

from chaos.control import EmulatorControl
from chaos.testing.clients import Clients
from client import ConnectionState, ResilientWebSocketClient, StatusChange
from emulator import EmulatorServer

SCALE = 600.0
#: Generous real-time bound for anything that should happen "at once" on a loaded 2-core box.
SOON = 5.0


class Control:
    """The emulator's control API (design §5) and its @connections API, for the tests.

    A keyword-argument front of :class:`chaos.control.EmulatorControl` (the runner's client of
    the same API): any answer that is not 2xx raises :class:`chaos.control.ControlError`.
    """

    def __init__(self, server: EmulatorServer, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.api = EmulatorControl(server.http_url, http)

    async def connections(self) -> list[dict[str, Any]]:
        return await self.api.connections()

    async def only_connection_id(self) -> str:
        (connection,) = await self.connections()
        return str(connection["connectionId"])

    async def close(self, connection_id: str, **body: Any) -> None:
        await self.api.request("POST", f"connections/{connection_id}/close", body)

    async def close_all(self, **body: Any) -> None:
        await self.api.close_all(body)

    async def fault(self, **body: Any) -> Any:
        return await self.api.add_fault(body)

    async def clear_faults(self) -> None:
        await self.api.clear_faults()

    async def patch_config(self, **body: Any) -> None:
        await self.api.patch_config(body)

    async def backend(self, action: str, **body: Any) -> Any:
        return await self.api.backend(action, body)

    async def ledger(self) -> dict[str, int]:
        """The sample API's executions per ``query_id``."""
        return await self.api.ledger()

    async def reset(self) -> None:
        await self.api.reset()

    async def delete_connection(self, connection_id: str) -> None:
        """``DELETE @connections/{id}``, as a back end calls it."""
        url = f"{self.server.management_url}/@connections/{connection_id}"
        async with self.http.delete(url) as response:
            assert response.status == 204, await response.text()


class Recorder:
    """Subscribes to a client and lets a test await a status."""

    def __init__(self, client: ResilientWebSocketClient) -> None:
        self.changes: list[StatusChange] = []
        self._wake = asyncio.Event()
        client.subscribe(self._on_change)

    def _on_change(self, change: StatusChange) -> None:
        self.changes.append(change)
        self._wake.set()

    @property
    def texts(self) -> list[str]:
        return [change.text for change in self.changes]

    async def wait_for(
        self,
        state: ConnectionState,
        *,
        attempt: int | None = None,
        nth: int = 1,
        timeout: float = SOON,
    ) -> StatusChange:
        """The ``nth`` change (recorded so far or later) into ``state`` (and ``attempt``)."""
        async with asyncio.timeout(timeout):
            while True:
                matches = [
                    change
                    for change in self.changes
                    if change.new is state and (attempt is None or change.attempt == attempt)
                ]
                if len(matches) >= nth:
                    return matches[nth - 1]
                self._wake.clear()
                await self._wake.wait()

    def clear(self) -> None:
        self.changes.clear()


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(config=None, time_scale=SCALE) as server:
        yield server


@pytest.fixture
async def control(emulator: EmulatorServer) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession() as http:
        ctl = Control(emulator, http)
        await ctl.reset()
        await ctl.patch_config(idle_timeout="2h")
        yield ctl
        await ctl.reset()


@pytest.fixture
async def make_client(
    emulator: EmulatorServer, control: Control
) -> AsyncIterator[Callable[..., tuple[ResilientWebSocketClient, Recorder]]]:
    """Build clients on the emulator (N=600, seeded jitter, own registry); closed afterwards.

    Depends on ``control`` so the gateway is reset before the clients exist and after they close.
    """
    clients = Clients(
        emulator.ws_url,
        {
            "rest_url": emulator.rest_url,
            "time_scale": SCALE,
            "heartbeat_interval": None,
            "query_timeout": 5 * SCALE,  # 5 s real
            "open_timeout": 5 * SCALE,
            "fallback_after": 5 * SCALE,
            "pong_timeout": 2 * SCALE,  # 2 s real
        },
    )

    def make(url: str | None = None, **options: Any) -> tuple[ResilientWebSocketClient, Recorder]:
        options.setdefault("rng", random.Random(4))  # a fresh seeded source for each client
        client = clients(url, **options)
        return client, Recorder(client)

    yield make
    await clients.aclose()


class SilentPeer:
    """A loopback TCP server that accepts and never answers the upgrade (a half-open proxy)."""

    def __init__(self, server: asyncio.Server) -> None:
        self.server = server
        self.accepted: list[asyncio.StreamWriter] = []
        port = server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/prod"

    def on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted.append(writer)


@pytest.fixture
async def silent_peer() -> AsyncIterator[SilentPeer]:
    peer: SilentPeer | None = None

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert peer is not None
        peer.on_connection(reader, writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    peer = SilentPeer(server)
    yield peer
    for writer in peer.accepted:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.fixture
def refused_url() -> str:
    """A ws:// URL on a loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}/prod"
