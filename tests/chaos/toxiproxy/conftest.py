"""Fixtures: a fresh embedded Toxiproxy per test (seeded), a raw API client, upstream servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from toxiproxy_support import Api, Upstream, start_echo

from chaos.toxiproxy import EmbeddedToxiproxy


@pytest.fixture
def toxiproxy() -> Iterator[EmbeddedToxiproxy]:
    with EmbeddedToxiproxy(seed=1234) as server:
        yield server


@pytest.fixture
async def api(toxiproxy: EmbeddedToxiproxy) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, toxiproxy.url)


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    server, address = await start_echo()
    yield address
    server.close()


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    server = await Upstream().start()
    yield server
    await server.close()
