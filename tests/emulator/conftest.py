"""Fixtures for the emulator's tests: real emulators on loopback and a real HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import pytest
from emulator_test_support import SOON

from emulator import ApiConfig, EmulatorServer


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """Start emulators (stopped at teardown): ``make(config=None, **EmulatorServer kwargs)``."""
    servers: list[EmulatorServer] = []

    def make(config: ApiConfig | None = None, **kwargs: Any) -> EmulatorServer:
        server = EmulatorServer(config, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def emulator(emulator_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """The sample API at real time."""
    return emulator_factory()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SOON * 2)) as session:
        yield session
