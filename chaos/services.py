"""The services a run needs (design §2): an emulator, a Toxiproxy, per-scenario proxies.

Locally both run in-process on loopback with free ports, each on its own event loop in a thread
(:class:`emulator.EmulatorServer`, :class:`chaos.toxiproxy.EmbeddedToxiproxy`). With
``--emulator URL`` and ``TOXIPROXY_URL`` running ones are used instead, and ``--upstream-host``
says how that Toxiproxy reaches the emulator.

Time (design §3): the emulator runs at time scale 1 and the runner hands it durations already
scaled for the scenario (its ``gateway:`` timings through ``PATCH /_wschaos/config``, fault
durations in the fault's body), so an in-process emulator and a running one behave the same and
each scenario may have its own time scale. A running emulator must therefore be started without
``--time-scale``.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from prometheus_client import CollectorRegistry

from chaos.control import ControlError, EmulatorControl
from chaos.errors import ChaosError, UserError
from chaos.proxies import (
    TOXIPROXY_URL_ENV,
    RunProxies,
    ToxiproxyClient,
    listen_host_for,
    normalize_url,
)
from chaos.toxiproxy import EmbeddedToxiproxy
from emulator import EmulatorServer
from emulator.config import ApiConfig
from emulator.timing import TimeScale, parse_duration

__all__ = [
    "DEFAULT_REST_PORT",
    "ScenarioEnvironment",
    "Services",
    "gateway_settings",
    "scale_fault",
]

#: The REST port of a running emulator when ``--emulator-rest-port`` is not given
#: (``wschaos emulator``'s default ``--rest-port``).
DEFAULT_REST_PORT = 3000
#: Real seconds any single control call may take.
CONTROL_TIMEOUT = 10.0
#: Gateway keys that are durations (scaled) and budgets (scaled with a floor).
_GATEWAY_DURATIONS = ("idle_timeout", "max_connection_duration")
_GATEWAY_BUDGETS = ("integration_timeout",)
#: Fault parameters that are durations.
_FAULT_DURATIONS = ("delay", "for")


def gateway_settings(overrides: Mapping[str, Any], scale: TimeScale) -> dict[str, Any]:
    """The ``PATCH /_wschaos/config`` body for a scenario: its timings scaled for an emulator
    running at time scale 1, on top of the API's defaults.

    Args:
        overrides: the scenario's ``gateway:`` block (validated: patchable keys only).
        scale: the scenario's time scale.
    """
    config = ApiConfig().with_overrides(dict(overrides), source="gateway")
    body = dict(overrides)
    for key in _GATEWAY_DURATIONS:
        body[key] = scale.duration(getattr(config, key))
    for key in _GATEWAY_BUDGETS:
        body[key] = scale.budget(getattr(config, key))
    return body


def scale_fault(body: Mapping[str, Any], scale: TimeScale) -> dict[str, Any]:
    """A fault body with its durations (``delay``, ``for``) in real seconds."""
    scaled = dict(body)
    for key in _FAULT_DURATIONS:
        if key in scaled:
            scaled[key] = scale.duration(parse_duration(scaled[key]))
    return scaled


@dataclass(frozen=True)
class ScenarioEnvironment:
    """What one scenario run sees.

    Attributes:
        ws_url: the WebSocket API through the run's websocket proxy.
        rest_url: the REST API's stage base through the run's rest proxy.
        control: the emulator's control API.
        proxies: the scenario's :class:`chaos.proxies.RunProxies`.
    """

    ws_url: str
    rest_url: str
    control: EmulatorControl
    proxies: RunProxies


class Services:
    """Starts (or connects to) the emulator and Toxiproxy for a whole run.

    Args:
        emulator_url: a running emulator's WebSocket URL (``ws://`` or ``http://HOST:PORT/STAGE``);
            None = start one in-process.
        emulator_rest_port: that emulator's REST port; None = :data:`DEFAULT_REST_PORT`.
        toxiproxy_url: a running Toxiproxy's API URL; None = start the embedded one.
        upstream_host: how Toxiproxy reaches the emulator; None = the emulator URL's host.
        seed: seeds the embedded Toxiproxy (toxicity draws).
        registry: where an in-process emulator registers its gateway metrics.
    """

    def __init__(
        self,
        *,
        emulator_url: str | None = None,
        emulator_rest_port: int | None = None,
        toxiproxy_url: str | None = None,
        upstream_host: str | None = None,
        seed: int | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.emulator_url = emulator_url
        self.emulator_rest_port = emulator_rest_port
        self.toxiproxy_url = toxiproxy_url
        self.upstream_host = upstream_host
        self.seed = seed
        self.registry = registry
        self._toxiproxy_client: ToxiproxyClient | None = None
        self.control: EmulatorControl  # set once started
        self._stack = contextlib.AsyncExitStack()
        self.control_url = ""
        self.stage = "prod"
        self.upstreams: dict[str, str] = {}
        self.proxy_host: str | None = None
        self.listen_host = "127.0.0.1"
        self._counter = 0
        self.run_id = ""

    async def __aenter__(self) -> Services:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        self.run_id = secrets.token_hex(3)
        loop = asyncio.get_running_loop()
        if self.emulator_url is None:
            server = EmulatorServer(registry=self.registry)
            await loop.run_in_executor(None, server.start)
            self._stack.callback(server.stop)
            self.control_url = server.http_url
            self.stage = urlsplit(server.ws_url).path.strip("/") or "prod"
            self.upstreams = {
                "websocket": f"127.0.0.1:{server.port}",
                "rest": f"127.0.0.1:{server.rest_port}",
            }
        else:
            self._use_running_emulator(self.emulator_url)
        if self.toxiproxy_url is None:
            embedded = EmbeddedToxiproxy(seed=self.seed)
            await loop.run_in_executor(None, embedded.start)
            self._stack.callback(embedded.stop)
            api_url = embedded.url
        else:
            api_url = normalize_url(self.toxiproxy_url)
            parts = urlsplit(api_url)
            if not parts.hostname or parts.scheme not in ("http", "https"):
                raise UserError(
                    f"{TOXIPROXY_URL_ENV}: {self.toxiproxy_url!r}: expected http://HOST:PORT"
                )
            # The client under test reaches the per-run proxies where the Toxiproxy API lives:
            # on that loopback address, or, for a Toxiproxy elsewhere (a container), on every
            # interface it has.
            self.proxy_host = parts.hostname
            self.listen_host = listen_host_for(parts.hostname)
        session = await self._stack.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CONTROL_TIMEOUT))
        )
        self.control = EmulatorControl(self.control_url, session)
        try:
            await self.control.reset()
        except ControlError as exc:
            where = "--emulator" if self.emulator_url else "emulator"
            raise UserError(f"{where}: {self.control_url!r}: control API: {exc}") from exc
        client = ToxiproxyClient(api_url, timeout=CONTROL_TIMEOUT)
        self._toxiproxy_client = await self._stack.enter_async_context(client)
        try:
            await client.version()
        except ChaosError as exc:
            where = TOXIPROXY_URL_ENV if self.toxiproxy_url else "toxiproxy"
            raise UserError(f"{where}: {api_url!r}: {exc}") from exc

    def _use_running_emulator(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
            raise UserError(f"--emulator: {url!r}: expected ws://HOST:PORT/STAGE")
        try:
            port = parts.port or (443 if parts.scheme in ("wss", "https") else 80)
        except ValueError:
            raise UserError(f"--emulator: {url!r}: bad port") from None
        secure = parts.scheme in ("wss", "https")
        self.control_url = f"{'https' if secure else 'http'}://{parts.netloc}"
        self.stage = parts.path.strip("/") or "prod"
        host = self.upstream_host or parts.hostname
        rest_port = self.emulator_rest_port or DEFAULT_REST_PORT
        self.upstreams = {"websocket": f"{host}:{port}", "rest": f"{host}:{rest_port}"}

    @contextlib.asynccontextmanager
    async def scenario(
        self, name: str, gateway: Mapping[str, Any], scale: TimeScale
    ) -> AsyncIterator[ScenarioEnvironment]:
        """Isolate one scenario run: reset the emulator, apply its gateway settings, create
        fresh proxies; destroy them afterwards."""
        await self.control.reset()
        await self.control.patch_config(gateway_settings(gateway, scale))
        self._counter += 1
        prefix = f"wschaos-{self.run_id}-{self._counter}-{name}"
        assert self._toxiproxy_client is not None, "Services used before it started"
        proxies = RunProxies(
            self._toxiproxy_client,
            prefix,
            upstreams=dict(self.upstreams),
            listen_host=self.listen_host,
            dial_host=self.proxy_host,
        )
        try:
            listen = await proxies.create()
            yield ScenarioEnvironment(
                ws_url=f"ws://{listen['websocket']}/{self.stage}",
                rest_url=f"http://{listen['rest']}/{self.stage}",
                control=self.control,
                proxies=proxies,
            )
        finally:
            with contextlib.suppress(ChaosError, aiohttp.ClientError, OSError):
                await proxies.destroy()
