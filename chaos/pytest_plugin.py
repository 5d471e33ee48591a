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
crash, an import error, a handler past the integration timeout) and by tasks started with
``wschaos_background.spawn`` are raised at the fixture's teardown. A test that provokes handler
failures on purpose takes them with ``wschaos_emulator.take_handler_errors()``.

Everything here is a thin shell: the emulator is :class:`emulator.EmulatorServer`, the proxies
are :class:`chaos.proxies.RunProxies`, scenarios run through :class:`chaos.runner.Runner`.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import pytest
import pytest_asyncio

if TYPE_CHECKING:
    from chaos.adapter import ClientFactory
    from chaos.outcomes import ScenarioResult
    from chaos.proxies import RunProxies, Toxic
    from client import ResilientWebSocketClient
    from emulator import ApiConfig, EmulatorServer, IntegrationError

__all__ = [
    "ENV_API_CONFIG",
    "ENV_CLIENT",
    "ENV_TIME_SCALE",
    "ENV_UPSTREAM_HOST",
    "Background",
    "Emulator",
    "EmulatorPool",
    "Proxies",
    "ScenarioFailed",
    "ScenarioRunner",
]

T = TypeVar("T")

#: A YAML API config for the emulator (design §5); unset = the built-in sample API.
ENV_API_CONFIG = "WSCHAOS_API_CONFIG"
#: The time scale N of the emulator and the clients (design §3); unset = 1 (AWS's own timings).
ENV_TIME_SCALE = "WSCHAOS_TIME_SCALE"
#: How a Toxiproxy at TOXIPROXY_URL reaches the emulator; unset = the emulator's own address.
ENV_UPSTREAM_HOST = "WSCHAOS_UPSTREAM_HOST"
#: The client adapter factory scenarios drive, ``module:factory``; unset = the resilient client.
ENV_CLIENT = "WSCHAOS_CLIENT"

#: Where boto3's ``apigatewaymanagementapi`` client sends @connections calls (set by the emulator).
ENDPOINT_ENV = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"
#: Real seconds any single control call (Toxiproxy, emulator) may take.
CONTROL_TIMEOUT = 30.0
#: Real seconds closing a client or cancelling background tasks may take at teardown.
CLOSE_TIMEOUT = 10.0


# --------------------------------------------------------------------------------- the worker loop
class _Worker:
    """An event loop in a daemon thread for the plugin's own I/O (Toxiproxy, scenario runs).

    Sync fixtures call :meth:`run`; async code on any loop awaits :meth:`call`. Either way the
    aiohttp sessions live on this one loop, whatever loop the test runs on.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="wschaos-pytest", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = CONTROL_TIMEOUT) -> T:
        """Run ``coro`` on the worker loop and wait at most ``timeout`` real seconds (None: as
        long as it takes; the coroutine bounds itself)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the worker loop from any other loop (cancellation propagates)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CLOSE_TIMEOUT)
        if not self._thread.is_alive():
            self.loop.close()


# ------------------------------------------------------------------------------------ the emulator
class Emulator:
    """One test's view of a running emulator (what ``wschaos_emulator`` gives).

    Attributes:
        server: the :class:`emulator.EmulatorServer` (shared by the tests with the same config).
    """

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:PORT/STAGE``: the WebSocket API, without any proxy."""
        return self.server.ws_url

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:RPORT/STAGE``: the REST API's stage base, without any proxy."""
        return self.server.rest_url

    @property
    def http_url(self) -> str:
        """``http://127.0.0.1:PORT``: @connections under ``/STAGE``, the control API under
        ``/_wschaos``."""
        return self.server.http_url

    @property
    def management_url(self) -> str:
        """The @connections endpoint for boto3's ``apigatewaymanagementapi`` (``endpoint_url``)."""
        return self.server.management_url

    @property
    def time_scale(self) -> float:
        """The emulator's time scale N."""
        return self.server.time_scale

    def reset(self) -> None:
        """As ``POST /_wschaos/reset`` (faults cleared, connections closed, ledger cleared,
        config restored), and forget earlier handler failures."""
        self.server.reset()
        self.server.call(lambda gateway: gateway.handler_errors.clear())

    def take_handler_errors(self) -> list[IntegrationError]:
        """The handler failures so far (oldest first), which then no longer fail the test."""

        def take(gateway: Any) -> list[IntegrationError]:
            errors = list(gateway.handler_errors)
            gateway.handler_errors.clear()
            return errors

        return self.server.call(take)

    def check(self) -> None:
        """Raise the handler failures not taken: one as itself, several as an ExceptionGroup."""
        errors = self.take_handler_errors()
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup(f"{len(errors)} handler failures in the emulator", errors)


class EmulatorPool:
    """Running emulators by (API config, time scale): each starts on first use and serves every
    test that asks for the same pair, until :meth:`close`."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, float], EmulatorServer] = {}
        self._lock = threading.Lock()

    def get(self, config: ApiConfig | None, time_scale: float = 1.0) -> EmulatorServer:
        """The running emulator for ``config`` (None = the sample API) at ``time_scale``."""
        from emulator import ApiConfig, EmulatorServer

        config = config if config is not None else ApiConfig()
        # ApiConfig is a frozen dataclass of plain values: its repr identifies it.
        key = (repr(config), float(time_scale))
        with self._lock:
            server = self._servers.get(key)
            if server is None:
                server = EmulatorServer(config, time_scale=time_scale).start()
                self._servers[key] = server
            return server

    def close(self) -> None:
        """Stop every emulator, last started first."""
        with self._lock:
            servers, self._servers = list(self._servers.values()), {}
        for server in reversed(servers):
            server.stop()


# ----------------------------------------------------------------------------------- the proxies
class Proxies:
    """The Toxiproxy proxies of one test, in front of its emulator (``wschaos_proxies``).

    Targets are ``websocket``, ``rest`` or ``all``. Toxic attributes are Toxiproxy wire units
    (ms, KB/s, bytes) and are never scaled. Every method may be awaited from any event loop.

    Attributes:
        ws_url: the WebSocket API through the ``websocket`` proxy.
        rest_url: the REST API's stage base through the ``rest`` proxy.
        run: the underlying :class:`chaos.proxies.RunProxies` (it lives on the plugin's loop).
    """

    def __init__(self, run: RunProxies, worker: _Worker, ws_url: str, rest_url: str) -> None:
        self.run = run
        self.ws_url = ws_url
        self.rest_url = rest_url
        self._worker = worker

    def name(self, target: str) -> str:
        """The Toxiproxy name of ``target``'s proxy (``wschaos-test-...-websocket``)."""
        return self.run.name(target)

    async def cut(self, target: str = "all") -> None:
        """Disable the proxy: its connections drop, new ones are refused."""
        await self._worker.call(self.run.cut(target))

    async def restore(self, target: str = "all") -> None:
        """Enable the proxy again, on the same port."""
        await self._worker.call(self.run.restore(target))

    async def add_toxic(
        self,
        target: str,
        type: str,
        attributes: Mapping[str, int] | None = None,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> list[Toxic]:
        """Add a toxic (``latency``, ``bandwidth``, ``timeout``, ``reset_peer``, ...)."""
        return await self._worker.call(
            self.run.add_toxic(
                target,
                type=type,
                attributes=dict(attributes or {}),
                name=name,
                stream=stream,
                toxicity=toxicity,
            )
        )

    async def update_toxic(
        self,
        target: str,
        name: str,
        attributes: Mapping[str, int] | None = None,
        *,
        toxicity: float | None = None,
    ) -> list[Toxic]:
        """Merge ``attributes`` into the toxic ``name``; live connections take it at once."""
        return await self._worker.call(
            self.run.update_toxic(target, name, attributes=attributes, toxicity=toxicity)
        )

    async def clear_toxics(self, target: str = "all") -> None:
        """Remove every toxic of the proxy."""
        await self._worker.call(self.run.clear_toxics(target))


# -------------------------------------------------------------------------------- the background
class Background:
    """Chaos that runs concurrently with the test (``wschaos_background``).

    ``spawn`` starts a task on the test's loop; at teardown unfinished tasks are cancelled and
    every exception a task raised is raised in the test (one as itself, several as an
    ExceptionGroup).
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self.errors: list[BaseException] = []

    def spawn(self, awaitable: Awaitable[T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run ``awaitable`` (a coroutine, task or future) in the background; returns its task."""
        task: asyncio.Task[T] = asyncio.ensure_future(awaitable)  # type: ignore[assignment]
        if name is not None:
            task.set_name(name)
        task.add_done_callback(self._done)
        self._tasks.append(task)
        return task

    def after(
        self, delay: float, awaitable: Awaitable[T], *, name: str | None = None
    ) -> asyncio.Task[T]:
        """Run ``awaitable`` after ``delay`` real seconds, in the background. Cancelled before
        then (the test ended first), it never runs."""

        async def later() -> T:
            await asyncio.sleep(delay)
            return await awaitable

        task = self.spawn(later(), name=name)
        if inspect.iscoroutine(awaitable):
            coroutine = awaitable

            def discard(_: asyncio.Task[T]) -> None:
                # Cancelled before it started: close it, so Python does not warn "never awaited".
                if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                    coroutine.close()

            task.add_done_callback(discard)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # type: ignore[arg-type]

    async def aclose(self) -> None:
        """Cancel unfinished tasks and wait for them (bounded)."""
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_TIMEOUT)

    def check(self) -> None:
        """Raise what the tasks raised."""
        errors, self.errors = self.errors, []
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise BaseExceptionGroup(f"{len(errors)} background tasks failed", errors)


# ---------------------------------------------------------------------------------- the scenarios
class ScenarioFailed(AssertionError):
    """A scenario run did not pass; the message lists every unmet expectation."""

    def __init__(self, result: ScenarioResult) -> None:
        lines = [f"scenario {result.name} failed:"]
        lines += [f"  {failure.message}" for failure in result.failures]
        super().__init__("\n".join(lines))
        self.result = result


class ScenarioRunner:
    """Runs scenarios through :class:`chaos.runner.Runner` against the test's emulator and
    Toxiproxy (``wschaos_scenario``)."""

    def __init__(
        self,
        *,
        worker: _Worker,
        emulators: EmulatorPool,
        emulator: Emulator,
        config: ApiConfig | None,
        toxiproxy_url: str,
        upstream_host: str | None,
        adapter: ClientFactory,
        name: str,
    ) -> None:
        self._worker = worker
        self._emulators = emulators
        self._emulator = emulator
        self._config = config
        self._toxiproxy_url = toxiproxy_url
        self._upstream_host = upstream_host
        self._adapter = adapter
        self._name = name
        self._count = 0

    def _target(self) -> Emulator:
        # The runner scales each scenario's timings itself and expects an emulator at time
        # scale 1 (chaos.services); a test's emulator at another scale gets a twin at 1.
        if self._emulator.time_scale == 1:
            return self._emulator
        return Emulator(self._emulators.get(self._config, 1.0))

    def load(
        self,
        source: str | Path | Mapping[str, Any] | None = None,
        *,
        steps: list[Any] | None = None,
        client_options: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> Any:
        """A validated :class:`chaos.scenario.Scenario` from a file, a mapping, or ``steps``.

        ``client_options`` is the scenario file's ``client:`` block; ``fields`` are its other
        top-level keys (``name``, ``description``, ``time_scale``, ``gateway``, ``expect``).

        Raises:
            ScenarioError: it does not validate (the message names the step and key).
        """
        from chaos.scenario import load, parse

        if source is not None and not isinstance(source, Mapping):
            if steps is not None or client_options is not None or fields:
                raise TypeError("give a scenario file, or steps and fields, not both")
            return load(source)
        self._count += 1
        document: dict[str, Any] = dict(source or {})
        if steps is not None:
            document["steps"] = steps
        if client_options is not None:
            document["client"] = dict(client_options)
        document.update(fields)
        document.setdefault(
            "name", f"{self._name}-{self._count}" if self._count > 1 else self._name
        )
        return parse(document, f"<{document['name']}>")

    async def run(
        self,
        source: str | Path | Mapping[str, Any] | None = None,
        *,
        steps: list[Any] | None = None,
        client: ClientFactory | str | None = None,
        client_options: Mapping[str, Any] | None = None,
        time_scale: float = 60.0,
        seed: int | None = None,
        check: bool = True,
        **fields: Any,
    ) -> ScenarioResult:
        """Run one scenario and return its result.

        Args:
            source: a scenario file, or a mapping shaped like one; None with ``steps``.
            steps: inline steps, as in a scenario file (``["connect", {"query": {...}}]``).
            client: the adapter factory (or ``module:factory``); None = ``wschaos_client_adapter``.
            client_options: the scenario's ``client:`` block (``{"heartbeat_interval": None}``).
            time_scale: N for a scenario that does not set its own (``wschaos run``'s default).
            seed: seeds the client's jitter and the toxicity draws; None = unseeded.
            check: raise :class:`ScenarioFailed` when the scenario does not pass.
            fields: other top-level scenario keys (``name``, ``expect``, ``gateway``...).

        Raises:
            ScenarioFailed: ``check`` and an expectation was not met.
            ScenarioError: the scenario does not validate.
        """
        from chaos.adapter import load_factory
        from chaos.runner import RunConfig, Runner
        from chaos.scenario import Fault, check_gateway, iter_steps

        scenario = self.load(source, steps=steps, client_options=client_options, **fields)
        check_gateway(scenario)
        factory = load_factory(client) if isinstance(client, str) else client or self._adapter
        target = self._target()
        if target is not self._emulator:
            target.take_handler_errors()  # an earlier test's, on the shared twin
        config = RunConfig(
            scenarios=[scenario],
            factory=factory,
            client_spec=client if isinstance(client, str) else getattr(factory, "__name__", ""),
            time_scale=time_scale,
            seed=seed,
            emulator_url=target.ws_url,
            emulator_rest_port=target.server.rest_port,
            toxiproxy_url=self._toxiproxy_url,
            upstream_host=self._upstream_host,
        )
        stalls = any(
            isinstance(step, Fault) and step.type == "stall_integrations"
            for step in iter_steps(scenario.steps)
        )
        before = {id(error) for error in target.server.handler_errors}
        saved = os.environ.get(ENDPOINT_ENV)
        os.environ[ENDPOINT_ENV] = target.management_url  # the twin's handlers post to the twin
        try:
            result = (await self._worker.call(Runner(config).run())).results[0]
        finally:
            if saved is None:
                os.environ.pop(ENDPOINT_ENV, None)
            else:
                os.environ[ENDPOINT_ENV] = saved
            if stalls:
                _forgive_timeouts(target.server, before)
        if target is not self._emulator:
            target.check()
        if check and not result.passed:
            raise ScenarioFailed(result)
        return result

    def run_sync(self, *args: Any, **kwargs: Any) -> ScenarioResult:
        """:meth:`run`, for tests that are not coroutines."""
        return self._worker.run(self.run(*args, **kwargs), timeout=None)


def _forgive_timeouts(server: EmulatorServer, before: set[int]) -> None:
    """Drop the integration timeouts a ``stall_integrations`` fault caused on purpose."""
    from emulator import IntegrationTimeout

    def forgive(gateway: Any) -> None:
        for error in list(gateway.handler_errors):
            if id(error) not in before and isinstance(error, IntegrationTimeout):
                gateway.handler_errors.remove(error)

    server.call(forgive)


# ----------------------------------------------------------------------------------- the fixtures
def _env_float(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if math.isnan(value):
        _bad_setting(f"{name}: {text!r}: not a number")
    if not value > 0 or value == float("inf"):
        _bad_setting(f"{name}: {text!r}: must be a positive number")
    return value


def _bad_setting(message: str) -> NoReturn:
    """Fail the tests that use a badly configured fixture, with one line and no traceback."""
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def wschaos_api_config() -> ApiConfig | None:
    """The emulator's API config: the YAML file named by ``WSCHAOS_API_CONFIG``, else None (the
    built-in sample API). Override it to point the emulator at your own handlers."""
    path = os.environ.get(ENV_API_CONFIG, "").strip()
    if not path:
        return None
    from emulator import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        problem = str(exc)
    _bad_setting(f"{ENV_API_CONFIG}: {problem}")  # outside the except: no chained traceback


@pytest.fixture(scope="session")
def wschaos_time_scale() -> float:
    """The time scale N of the emulator and the clients (design §3): ``WSCHAOS_TIME_SCALE``,
    else 1. At 600, the 10-minute idle timeout takes 1 s."""
    return _env_float(ENV_TIME_SCALE, 1.0)


@pytest.fixture(scope="session")
def wschaos_upstream_host() -> str | None:
    """How Toxiproxy reaches the emulator: ``WSCHAOS_UPSTREAM_HOST``, else None (the emulator's
    own address, right for the embedded Toxiproxy and one on the same host network)."""
    return os.environ.get(ENV_UPSTREAM_HOST, "").strip() or None


@pytest.fixture(scope="session")
def wschaos_client_options() -> dict[str, Any]:
    """Keyword arguments for every client ``wschaos_client_factory`` builds (none by default)."""
    return {}


@pytest.fixture(scope="session")
def wschaos_client_adapter() -> ClientFactory:
    """The client scenarios drive: ``WSCHAOS_CLIENT`` (``module:factory``), else the resilient
    client (:func:`chaos.adapter.resilient_client`)."""
    from chaos.adapter import DEFAULT_CLIENT, load_factory
    from chaos.errors import UserError

    spec = os.environ.get(ENV_CLIENT, "").strip() or DEFAULT_CLIENT
    try:
        return load_factory(spec)
    except UserError as exc:
        problem = str(exc)
    _bad_setting(f"{ENV_CLIENT}: {problem}")


@pytest.fixture(scope="session")
def _wschaos_worker() -> Iterator[_Worker]:
    worker = _Worker()
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def wschaos_toxiproxy_url() -> Iterator[str]:
    """The Toxiproxy API: ``TOXIPROXY_URL`` (a real Toxiproxy), else an embedded one started
    once for the session."""
    from chaos.proxies import url_from_env

    url = url_from_env()
    if url is not None:
        yield url.rstrip("/")
        return
    from chaos.toxiproxy import EmbeddedToxiproxy

    embedded = EmbeddedToxiproxy()
    embedded.start()
    try:
        yield embedded.url
    finally:
        embedded.stop()


@pytest.fixture(scope="session")
def wschaos_emulators() -> Iterator[EmulatorPool]:
    """Every emulator of the session, one per (API config, time scale)."""
    pool = EmulatorPool()
    yield pool
    pool.close()


@pytest.fixture
def wschaos_emulator(
    monkeypatch: pytest.MonkeyPatch,
    wschaos_emulators: EmulatorPool,
    wschaos_api_config: ApiConfig | None,
    wschaos_time_scale: float,
) -> Iterator[Emulator]:
    """The emulator for this test's config and time scale, reset before the test. At teardown
    it is reset again and the failures of its handlers during the test are raised.

    While the test runs, ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`` names this emulator's
    @connections endpoint, so handlers' boto3 clients reach it even when several emulators live
    in the session (each one sets the variable when it starts; the last started would win)."""
    emulator = Emulator(wschaos_emulators.get(wschaos_api_config, wschaos_time_scale))
    monkeypatch.setenv(ENDPOINT_ENV, emulator.management_url)
    emulator.reset()
    yield emulator
    # Closing every connection first runs their $disconnect handlers inside this test.
    emulator.server.reset()
    emulator.check()


def _proxy_prefix(request: pytest.FixtureRequest) -> str:
    test = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40]
    return f"wschaos-test-{uuid.uuid4().hex[:6]}-{test}"


@pytest.fixture
def wschaos_proxies(
    request: pytest.FixtureRequest,
    _wschaos_worker: _Worker,
    wschaos_emulator: Emulator,
    wschaos_toxiproxy_url: str,
    wschaos_upstream_host: str | None,
) -> Iterator[Proxies]:
    """Proxies ``websocket`` and ``rest`` in front of the emulator, named after the test;
    deleted at teardown."""
    from urllib.parse import urlsplit

    from chaos.proxies import RunProxies, ToxiproxyClient

    server = wschaos_emulator.server
    upstream = wschaos_upstream_host or urlsplit(server.http_url).hostname
    dial = urlsplit(wschaos_toxiproxy_url).hostname
    client = ToxiproxyClient(wschaos_toxiproxy_url, timeout=CONTROL_TIMEOUT)
    run = RunProxies(
        client,
        _proxy_prefix(request),
        {"websocket": f"{upstream}:{server.port}", "rest": f"{upstream}:{server.rest_port}"},
        # A Toxiproxy elsewhere (a container) must listen where this process can reach it.
        listen_host="127.0.0.1" if dial in ("127.0.0.1", "localhost", "::1") else "0.0.0.0",
        dial_host=dial,
    )
    try:
        listen = _wschaos_worker.run(run.create())
        stage = server.stage
        yield Proxies(
            run,
            _wschaos_worker,
            ws_url=f"ws://{listen['websocket']}/{stage}",
            rest_url=f"http://{listen['rest']}/{stage}",
        )
    finally:
        try:
            _wschaos_worker.run(run.destroy())
        finally:
            _wschaos_worker.run(client.close())


@pytest_asyncio.fixture
async def wschaos_background() -> AsyncIterator[Background]:
    """Start chaos concurrently with the test; what it raises is raised at teardown."""
    background = Background()
    yield background
    await background.aclose()
    background.check()


@pytest_asyncio.fixture
async def wschaos_client_factory(
    wschaos_proxies: Proxies,
    wschaos_time_scale: float,
    wschaos_client_options: dict[str, Any],
) -> AsyncIterator[Callable[..., ResilientWebSocketClient]]:
    """``make(url=None, **options)`` builds a :class:`client.ResilientWebSocketClient` through
    the proxies (``url`` and ``rest_url`` default to them) at the test's time scale, with a
    private metrics registry. Every client made is closed at teardown, last made first."""
    from prometheus_client import CollectorRegistry

    from client import ResilientWebSocketClient

    made: list[ResilientWebSocketClient] = []

    def make(url: str | None = None, **options: Any) -> ResilientWebSocketClient:
        settings: dict[str, Any] = {
            "rest_url": wschaos_proxies.rest_url,
            "time_scale": wschaos_time_scale,
            "registry": CollectorRegistry(),
            **wschaos_client_options,
            **options,
        }
        client = ResilientWebSocketClient(url or wschaos_proxies.ws_url, **settings)
        made.append(client)
        return client

    yield make
    for client in reversed(made):
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await client.close()


@pytest_asyncio.fixture
async def wschaos_client(
    wschaos_client_factory: Callable[..., ResilientWebSocketClient],
) -> ResilientWebSocketClient:
    """A :class:`client.ResilientWebSocketClient` through the proxies (not yet connected)."""
    return wschaos_client_factory()


@pytest.fixture
def wschaos_scenario(
    request: pytest.FixtureRequest,
    _wschaos_worker: _Worker,
    wschaos_emulators: EmulatorPool,
    wschaos_emulator: Emulator,
    wschaos_api_config: ApiConfig | None,
    wschaos_toxiproxy_url: str,
    wschaos_upstream_host: str | None,
    wschaos_client_adapter: ClientFactory,
) -> ScenarioRunner:
    """Runs a scenario file or inline steps against this test's emulator (its config and
    handlers) through Toxiproxy: ``await wschaos_scenario.run(steps=[...])``."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", request.node.name.lower()).strip("-") or "scenario"
    return ScenarioRunner(
        worker=_wschaos_worker,
        emulators=wschaos_emulators,
        emulator=wschaos_emulator,
        config=wschaos_api_config,
        toxiproxy_url=wschaos_toxiproxy_url,
        upstream_host=wschaos_upstream_host,
        adapter=wschaos_client_adapter,
        name=name[:60],
    )
