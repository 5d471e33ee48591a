"""An emulator in-process: both ports on their own event loop in a thread.

Tests, the scenario runner and the pytest plugin start one with::

    with EmulatorServer(time_scale=600) as server:
        ...  # server.ws_url, server.http_url, server.rest_url

so the code under test never shares the emulator's scheduling (design §2). While it runs, the
process environment points handlers' boto3 clients at it, as Lambda's would point at AWS:
``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI``, ``AWS_CA_BUNDLE`` with ``tls``, a region, and dummy
credentials when none are configured. The variables are restored on stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry

from emulator.app import create_app, create_rest_app
from emulator.config import ApiConfig
from emulator.exceptions import EmulatorError, IntegrationError
from emulator.gateway import Gateway
from emulator.tls import LocalCA, create_local_ca

__all__ = ["EmulatorServer"]

T = TypeVar("T")

#: Real seconds start() and stop() wait for the emulator's thread.
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 15.0
#: Real seconds the loop's leftover tasks get to finish once cancelled.
_CANCEL_WAIT = 1.0
_BACKLOG = 2048


def _url_host(host: str) -> str:
    """``host`` as it goes in a URL (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host else host


def _loopback(host: str) -> str:
    """The address to reach a server bound to ``host`` from this machine."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def _bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket bound in the caller's thread, so a busy port raises OSError
    from :meth:`EmulatorServer.start` itself (0 = a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still pending (bounded), then close the loop, as ``asyncio.run`` does."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=_CANCEL_WAIT))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _no_credentials() -> bool:
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return False
    home = Path.home() / ".aws"
    return not ((home / "credentials").exists() or (home / "config").exists())


class EmulatorServer:
    """An emulator (WebSocket port and REST port) on its own event loop in a thread.

    Args:
        config: the API; None = the built-in sample API (design §6).
        host: the address both ports bind to.
        port: the WebSocket port (WebSocket API, @connections, control API); 0 = a free one.
        rest_port: the REST API's port; 0 = a free one.
        time_scale: divides every configured duration (design §3); 600 makes 10 minutes 1 s.
        registry: where gateway metrics go; None = a private registry.
        tls: serve ``wss://``/``https://`` with a local CA (needs trustme).
    """

    def __init__(
        self,
        config: ApiConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rest_port: int = 0,
        time_scale: float = 1.0,
        registry: CollectorRegistry | None = None,
        tls: bool = False,
    ) -> None:
        self.config = config if config is not None else ApiConfig()
        self.host = host
        self.time_scale = time_scale
        self.registry = registry if registry is not None else CollectorRegistry()
        self.tls = tls
        self._requested = (port, rest_port)
        self.port = port
        self.rest_port = rest_port
        self._gateway: Gateway | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._ca: LocalCA | None = None
        self._tmpdir: str | None = None
        self._saved_env: dict[str, str | None] = {}
        self._set_env: dict[str, str] = {}
        self._state = "new"
        self._lock = threading.Lock()

    # -- URLs --------------------------------------------------------------------------------------

    @property
    def stage(self) -> str:
        """The API's stage (the first path segment of every URL)."""
        return self.config.stage

    @property
    def ws_url(self) -> str:
        """``ws://HOST:PORT/STAGE`` (``wss://`` with TLS)."""
        scheme = "wss" if self.tls else "ws"
        return f"{scheme}://{_url_host(self.host)}:{self.port}/{self.stage}"

    @property
    def http_url(self) -> str:
        """``http://HOST:PORT``: @connections at ``/{stage}/@connections/{id}``, control at
        ``/_wschaos``."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{_url_host(self.host)}:{self.port}"

    @property
    def management_url(self) -> str:
        """The @connections endpoint for boto3: ``http://HOST:PORT/STAGE``."""
        return f"{self.http_url}/{self.stage}"

    @property
    def rest_url(self) -> str:
        """``http://HOST:RPORT/STAGE``: the REST API's stage base."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{_url_host(self.host)}:{self.rest_port}/{self.stage}"

    @property
    def ca_file(self) -> Path | None:
        """With ``tls``, the local CA certificate (PEM); else None."""
        return None if self._ca is None else self._ca.ca_file

    def ssl_context(self) -> ssl.SSLContext | None:
        """With ``tls``, a client SSL context trusting the local CA; else None."""
        return None if self._ca is None else self._ca.client_context()

    @property
    def gateway(self) -> Gateway:
        """The running gateway (touch it only through :meth:`call`: it lives on another loop)."""
        if self._gateway is None:
            raise EmulatorError("the emulator is not running")
        return self._gateway

    @property
    def handler_errors(self) -> list[IntegrationError]:
        """Integration failures so far (newest last), to surface in tests."""
        return list(self._gateway.handler_errors) if self._gateway is not None else []

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        """Start both ports; returns once they listen.

        Raises:
            OSError: a port cannot be bound (e.g. in use).
            EmulatorError: the emulator failed to start.
        """
        with self._lock:
            if self._state != "new":
                if self._state == "running":
                    return self
                raise EmulatorError("an emulator cannot be started again once stopped")
            ws_sock = _bind(self.host, self._requested[0])
            try:
                rest_sock = _bind(self.host, self._requested[1])
            except OSError:
                ws_sock.close()
                raise
            self.port = ws_sock.getsockname()[1]
            self.rest_port = rest_sock.getsockname()[1]
            if self.tls:
                self._tmpdir = tempfile.mkdtemp(prefix="wschaos-tls-")
                hosts = ["127.0.0.1", "localhost", "::1", _loopback(self.host)]
                if self.host not in ("", "0.0.0.0", "::"):
                    hosts.append(self.host)
                self._ca = create_local_ca(hosts, Path(self._tmpdir))
            ready = threading.Event()
            failure: list[BaseException] = []
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(
                target=self._run,
                args=(ws_sock, rest_sock, ready, failure),
                name=f"wschaos-emulator-{self.port}",
                daemon=True,
            )
            self._thread.start()
            if not ready.wait(_START_TIMEOUT):
                raise EmulatorError(f"the emulator did not start within {_START_TIMEOUT:g}s")
            if failure:
                self._thread.join(_STOP_TIMEOUT)
                self._cleanup_files()
                self._state = "stopped"
                raise EmulatorError(f"the emulator failed to start: {failure[0]}") from failure[0]
            self._state = "running"
            self._export_env()
            return self

    def _run(
        self,
        ws_sock: socket.socket,
        rest_sock: socket.socket,
        ready: threading.Event,
        failure: list[BaseException],
    ) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._astart(ws_sock, rest_sock))
        except BaseException as exc:
            failure.append(exc)
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._astop())  # a runner that did start
            ws_sock.close()
            rest_sock.close()
            ready.set()
            _close_loop(loop)
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            _close_loop(loop)

    async def _astart(self, ws_sock: socket.socket, rest_sock: socket.socket) -> None:
        gateway = Gateway(self.config, registry=self.registry, time_scale=self.time_scale)
        self._gateway = gateway
        ssl_context = self._ca.server_context if self._ca is not None else None
        for app, sock in (
            (create_app(gateway=gateway), ws_sock),
            (create_rest_app(gateway), rest_sock),
        ):
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
            await runner.setup()
            self._runners.append(runner)
            site = web.SockSite(runner, sock, ssl_context=ssl_context, backlog=_BACKLOG)
            await site.start()

    async def _astop(self) -> None:
        """Stop both apps: the WebSocket app's shutdown closes every connection first."""
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    def stop(self) -> None:
        """Close every connection (1001 "Going away"), stop the ports and the thread.

        Idempotent; safe to call on a server that never started.
        """
        with self._lock:
            if self._state != "running":
                self._state = "stopped"
                return
            self._state = "stopped"
            loop, thread = self._loop, self._thread
            assert loop is not None and thread is not None
            try:
                asyncio.run_coroutine_threadsafe(self._astop(), loop).result(_STOP_TIMEOUT)
            finally:
                with contextlib.suppress(RuntimeError):  # the loop is closed already
                    loop.call_soon_threadsafe(loop.stop)
                thread.join(_STOP_TIMEOUT)
                self._restore_env()
                self._cleanup_files()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- acting on the running gateway -------------------------------------------------------------

    def call(self, fn: Callable[[Gateway], Awaitable[T] | T], timeout: float = 10.0) -> T:
        """Run ``fn(gateway)`` on the emulator's loop and return its result (awaited if need be).

        Raises:
            EmulatorError: the emulator is not running.
            TimeoutError: no result within ``timeout`` real seconds.
        """
        if self._state != "running" or self._loop is None:
            raise EmulatorError("the emulator is not running")
        gateway = self.gateway

        async def run() -> Any:
            result = fn(gateway)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)  # type: ignore[no-any-return]

    def reset(self) -> None:
        """As ``POST /_wschaos/reset``: clear faults, close all, clear the ledger, restore the
        config."""
        self.call(lambda gateway: gateway.reset())

    # -- environment for handlers ------------------------------------------------------------------

    def _export_env(self) -> None:
        endpoint_host = _url_host(_loopback(self.host))
        scheme = "https" if self.tls else "http"
        values = {
            "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": (
                f"{scheme}://{endpoint_host}:{self.port}/{self.stage}"
            )
        }
        if self._ca is not None:
            values["AWS_CA_BUNDLE"] = str(self._ca.bundle_file)
        for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            if not os.environ.get(key):
                values[key] = "us-east-1"
        if _no_credentials():
            values["AWS_ACCESS_KEY_ID"] = "wschaos"
            values["AWS_SECRET_ACCESS_KEY"] = "wschaos"
        for key, value in values.items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._set_env = values

    def _restore_env(self) -> None:
        for key, value in self._set_env.items():
            if os.environ.get(key) != value:
                continue  # someone (another emulator) changed it since; leave theirs
            previous = self._saved_env.get(key)
            if previous is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = previous
        self._set_env = {}
        self._saved_env = {}

    def _cleanup_files(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
