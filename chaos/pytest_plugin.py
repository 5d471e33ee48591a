"""The wschaos pytest plugin: test your own client or back end against the emulator, through
Toxiproxy, in a few lines (``pytest11`` entry point ``wschaos``, active once wschaos is installed).

Fixtures (every name starts with ``wschaos_``, so none collides with a project's own)::

    configuration (override in a conftest.py, a module, or per test with parametrize)
      wschaos_api_config      session   ApiConfig | None   env WSCHAOS_API_CONFIG (a YAML file);
                                                           None = the built-in sample API
      wschaos_time_scale      session   float              env WSCHAOS_TIME_SCALE; default 1
      wschaos_toxiproxy_url   session   str                env TOXIPROXY_URL; default: an
                                                           embedded Toxiproxy, started once
      wschaos_upstream_host   session   str | None         env WSCHAOS_UPSTREAM_HOST: how that
                                                           Toxiproxy reaches the emulator
      wschaos_client_options  session   dict               ResilientWebSocketClient keywords
      wschaos_client_adapter  session   ClientFactory      env WSCHAOS_CLIENT (module:factory):
                                                           the client scenarios drive
    services
      wschaos_emulators       session   one emulator per (config, time scale), on its own loop
                                        in a thread, started on first use, stopped at the end
      wschaos_emulator        function  the emulator for this test's config, reset before the
                                        test; its handlers' failures are raised at teardown
      wschaos_proxies         function  Toxiproxy proxies in front of it (ws_url, rest_url, cut,
                                        restore, toxics), deleted at teardown
      wschaos_background      function  chaos run concurrently with the test; failures raised
      wschaos_client_factory  function  builds ResilientWebSocketClient through the proxies;
      wschaos_client          function  closes every client it made, last first
      wschaos_scenario        function  runs a scenario file or inline steps, returns its result

The emulator and the Toxiproxy control run on their own event loops in threads, so every
pytest-asyncio loop scope works with them and the client under test never shares their
scheduling. The async fixtures (``wschaos_background``, ``wschaos_client*``) run on the test's
loop at the default fixture loop scope.

Failures in the background surface in the test: exceptions raised by the emulator's handlers (a
crash, an import error, a handler past the integration timeout, a ``$disconnect`` handler that
fails as the test's connections close) and by tasks started with ``wschaos_background`` are
raised at the fixture's teardown. A test that provokes handler failures on purpose takes them
with ``wschaos_emulator.take_handler_errors()``.

This module is only the fixtures; the classes they give live in :mod:`chaos.testing` (usable
without pytest) and are imported when a fixture first runs, so a suite that uses no fixture
never imports the top-level packages ``emulator`` and ``client``, whose names a project may use
too.

The async fixtures need pytest-asyncio. Without it the plugin still loads (installing wschaos must
not break a project's pytest); only the tests that use those fixtures fail, as pytest fails any
async fixture no plugin runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

try:
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # see the module docstring
    _async_fixture = pytest.fixture

if TYPE_CHECKING:
    from chaos.adapter import ClientFactory
    from chaos.testing.background import Background
    from chaos.testing.clients import Clients
    from chaos.testing.emulators import Emulator, EmulatorPool
    from chaos.testing.loop_thread import LoopThread
    from chaos.testing.proxies import Proxies
    from chaos.testing.scenarios import ScenarioRunner
    from client import ResilientWebSocketClient
    from emulator import ApiConfig

#: The fixtures are this module's public surface; the classes they give are in chaos.testing.
__all__ = [
    "wschaos_api_config",
    "wschaos_background",
    "wschaos_client",
    "wschaos_client_adapter",
    "wschaos_client_factory",
    "wschaos_client_options",
    "wschaos_emulator",
    "wschaos_emulators",
    "wschaos_proxies",
    "wschaos_scenario",
    "wschaos_time_scale",
    "wschaos_toxiproxy_url",
    "wschaos_upstream_host",
]

T = TypeVar("T")


def _setting(read: Callable[[], T]) -> T:
    """``read()``; a bad setting (:class:`~chaos.errors.UserError`) fails the tests that use the
    fixture, with one line and no traceback."""
    from chaos.errors import UserError

    try:
        return read()
    except UserError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)  # outside the except: no chained traceback


# ----------------------------------------------------------------------------- configuration
@pytest.fixture(scope="session")
def wschaos_api_config() -> ApiConfig | None:
    """The emulator's API config: the YAML file named by ``WSCHAOS_API_CONFIG``, else None (the
    built-in sample API). Override it to point the emulator at your own handlers."""
    from chaos.testing.settings import api_config_from_env

    return _setting(api_config_from_env)


@pytest.fixture(scope="session")
def wschaos_time_scale() -> float:
    """The time scale N of the emulator and the clients (design §3): ``WSCHAOS_TIME_SCALE``,
    else 1. At 600, the 10-minute idle timeout takes 1 s."""
    from chaos.testing.settings import time_scale_from_env

    return _setting(time_scale_from_env)


@pytest.fixture(scope="session")
def wschaos_upstream_host() -> str | None:
    """How Toxiproxy reaches the emulator: ``WSCHAOS_UPSTREAM_HOST``, else None (the emulator's
    own address, right for the embedded Toxiproxy and one on the same host network)."""
    from chaos.testing.settings import upstream_host_from_env

    return upstream_host_from_env()


@pytest.fixture(scope="session")
def wschaos_client_options() -> dict[str, Any]:
    """Keyword arguments for every client ``wschaos_client_factory`` builds (none by default)."""
    return {}


@pytest.fixture(scope="session")
def wschaos_client_adapter() -> ClientFactory:
    """The client scenarios drive: ``WSCHAOS_CLIENT`` (``module:factory``), else the resilient
    client (:func:`chaos.adapter.resilient_client`)."""
    from chaos.testing.settings import client_adapter_from_env

    return _setting(client_adapter_from_env)


# ------------------------------------------------------------------------- session services
@pytest.fixture(scope="session")
def _wschaos_worker() -> Iterator[LoopThread]:
    """The loop the Toxiproxy control and scenario runs live on, stopped at the session's end."""
    from chaos.testing.loop_thread import LoopThread

    worker = LoopThread()
    try:
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def wschaos_toxiproxy_url() -> Iterator[str]:
    """The Toxiproxy API: ``TOXIPROXY_URL`` (a real Toxiproxy), else an embedded one started
    once for the session."""
    from chaos.testing.settings import toxiproxy_url_from_env

    url = toxiproxy_url_from_env()
    if url is not None:
        yield url
        return
    from chaos.toxiproxy import EmbeddedToxiproxy

    embedded = EmbeddedToxiproxy().start()
    try:
        yield embedded.url
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def wschaos_emulators() -> Iterator[EmulatorPool]:
    """Every emulator of the session, one per (API config, time scale), stopped at its end."""
    from chaos.testing.emulators import EmulatorPool

    pool = EmulatorPool()
    try:
        yield pool
    finally:
        pool.close()


# ---------------------------------------------------------------------------- test services
@pytest.fixture
def wschaos_emulator(
    monkeypatch: pytest.MonkeyPatch,
    wschaos_emulators: EmulatorPool,
    wschaos_api_config: ApiConfig | None,
    wschaos_time_scale: float,
) -> Iterator[Emulator]:
    """The emulator for this test's config and time scale, reset before the test. At teardown
    its connections are closed (running their ``$disconnect`` handlers), and the failures of its
    handlers during the test are raised once those handlers have ended.

    While the test runs, ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`` names this emulator's
    @connections endpoint, so handlers' boto3 clients reach it even when several emulators live
    in the session (each one sets the variable when it starts; the last started would win)."""
    from chaos.testing.emulators import Emulator
    from chaos.testing.settings import ENDPOINT_ENV

    emulator = Emulator(wschaos_emulators.get(wschaos_api_config, wschaos_time_scale))
    monkeypatch.setenv(ENDPOINT_ENV, emulator.management_url)
    emulator.reset()
    yield emulator
    try:
        emulator.server.reset()
    finally:
        emulator.check()


@pytest.fixture
def wschaos_proxies(
    request: pytest.FixtureRequest,
    _wschaos_worker: LoopThread,
    wschaos_emulator: Emulator,
    wschaos_toxiproxy_url: str,
    wschaos_upstream_host: str | None,
) -> Iterator[Proxies]:
    """Proxies ``websocket`` and ``rest`` in front of the emulator, named after the test;
    deleted at teardown."""
    from chaos.testing.proxies import Proxies, proxy_prefix

    proxies = Proxies.open(
        _wschaos_worker,
        wschaos_emulator.server,
        wschaos_toxiproxy_url,
        prefix=proxy_prefix(request.node.name),
        upstream_host=wschaos_upstream_host,
    )
    try:
        yield proxies
    finally:
        proxies.close()


@_async_fixture
async def wschaos_background() -> AsyncIterator[Background]:
    """Start chaos concurrently with the test; what it raises is raised at teardown."""
    from chaos.testing.background import Background

    background = Background()
    yield background
    await background.aclose()
    background.check()


@_async_fixture
async def wschaos_client_factory(
    wschaos_proxies: Proxies,
    wschaos_time_scale: float,
    wschaos_client_options: dict[str, Any],
) -> AsyncIterator[Clients]:
    """A :class:`chaos.testing.Clients`: ``make(url=None, **options)`` builds a
    :class:`client.ResilientWebSocketClient` through the proxies (``url`` and ``rest_url``
    default to them) at the test's time scale, with a private metrics registry. Every client
    made is closed at teardown, last made first, each within a bound."""
    from chaos.testing.clients import Clients

    clients = Clients(
        wschaos_proxies.ws_url,
        {
            "rest_url": wschaos_proxies.rest_url,
            "time_scale": wschaos_time_scale,
            **wschaos_client_options,
        },
    )
    yield clients
    await clients.aclose()


@_async_fixture
async def wschaos_client(wschaos_client_factory: Clients) -> ResilientWebSocketClient:
    """A :class:`client.ResilientWebSocketClient` through the proxies (not yet connected)."""
    return wschaos_client_factory()


@pytest.fixture
def wschaos_scenario(
    request: pytest.FixtureRequest,
    _wschaos_worker: LoopThread,
    wschaos_emulators: EmulatorPool,
    wschaos_emulator: Emulator,
    wschaos_api_config: ApiConfig | None,
    wschaos_toxiproxy_url: str,
    wschaos_upstream_host: str | None,
    wschaos_client_adapter: ClientFactory,
) -> ScenarioRunner:
    """Runs a scenario file or inline steps against this test's emulator (its config and
    handlers) through Toxiproxy: ``await wschaos_scenario.run(steps=[...])``."""
    from chaos.testing.scenarios import ScenarioRunner, scenario_name

    return ScenarioRunner(
        worker=_wschaos_worker,
        emulators=wschaos_emulators,
        emulator=wschaos_emulator,
        config=wschaos_api_config,
        toxiproxy_url=wschaos_toxiproxy_url,
        upstream_host=wschaos_upstream_host,
        adapter=wschaos_client_adapter,
        name=scenario_name(request.node.name),
    )
