"""Running the server: :class:`ToxiproxyServer` on the current loop, :class:`EmbeddedToxiproxy` on
its own loop in a thread (so the code under test never shares the proxy's scheduling)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from types import TracebackType

from aiohttp import web

from chaos.toxiproxy.addr import format_host_port
from chaos.toxiproxy.api import create_app
from chaos.toxiproxy.proxy_collection import ProxyCollection

__all__ = ["EmbeddedToxiproxy", "ToxiproxyServer"]

#: Seconds :meth:`EmbeddedToxiproxy.start` and :meth:`~EmbeddedToxiproxy.stop` wait for the thread.
THREAD_TIMEOUT = 10.0
#: Seconds :meth:`ToxiproxyServer.stop` lets requests in progress finish.
SHUTDOWN_TIMEOUT = 5.0

logger = logging.getLogger(__name__)


class ToxiproxyServer:
    """The API and every proxy, on the running event loop.

    Args:
        seed: seeds the generator of toxicity draws, jitter and slicing; ``None`` seeds from the
            system. (Toxiproxy's own ``-seed`` flag has no effect; this one makes runs repeatable.)
    """

    def __init__(self, *, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.proxies = ProxyCollection(self.rng)
        self._runner: web.AppRunner | None = None
        self.host = ""
        self.port = 0

    @property
    def url(self) -> str:
        """The API's base URL, ``http://127.0.0.1:8474`` (a wildcard host is shown as loopback)."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        host = "::1" if host == "::" else host
        return "http://" + format_host_port(host, self.port)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen for API requests on ``host``:``port`` (0 = a free port).

        Raises:
            OSError: the address cannot be bound.
        """
        runner = web.AppRunner(
            create_app(self.proxies),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.host, self.port = host, runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop the API and every proxy, closing all proxied connections; idempotent."""
        # Proxies first: killing their links ends any request waiting on a stage (a removal
        # waiting out a reset_peer timer), so the API's graceful shutdown is quick.
        self.proxies.stop_all()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
            # A request that was creating or enabling a proxy may have finished meanwhile.
            self.proxies.stop_all()

    async def populate(self, body: bytes) -> None:
        """Create proxies from a ``/populate`` body (what ``--populate file.json`` loads).

        Raises:
            ApiError: the body is invalid or a proxy cannot bind (earlier ones stay created).
        """
        _, error = await self.proxies.populate_json(body)
        if error is not None:
            raise error


class EmbeddedToxiproxy:
    """A Toxiproxy-compatible server on its own event loop in a daemon thread.

    Args:
        host: the API's address; ``127.0.0.1`` by default.
        port: the API's port; 0 picks a free one (see :attr:`url`).
        seed: seeds toxicity draws, jitter and slicing (``None``: not reproducible).

    Usage::

        with EmbeddedToxiproxy() as tp:
            client = ToxiproxyClient(tp.url)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.server: ToxiproxyServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """The API's base URL, e.g. ``http://127.0.0.1:41234``.

        Raises:
            RuntimeError: the server is not running.
        """
        if self.server is None or self._thread is None:
            raise RuntimeError("the embedded Toxiproxy is not running; call start() first")
        return self.server.url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop (to run coroutines on it with ``run_coroutine_threadsafe``)."""
        if self._loop is None:
            raise RuntimeError("the embedded Toxiproxy is not running; call start() first")
        return self._loop

    def start(self) -> EmbeddedToxiproxy:
        """Start the thread and block until the API listens.

        Returns:
            ``self``, for chaining (``tp = EmbeddedToxiproxy().start()``).

        Raises:
            OSError: the API's address cannot be bound.
            RuntimeError: already started, or the thread did not start in time.
        """
        if self._thread is not None:
            raise RuntimeError("the embedded Toxiproxy is already running")
        ready = threading.Event()
        failure: list[BaseException] = []
        thread = threading.Thread(
            target=self._main, args=(ready, failure), name="wschaos-toxiproxy", daemon=True
        )
        thread.start()
        if not ready.wait(THREAD_TIMEOUT):
            raise RuntimeError(f"the embedded Toxiproxy did not start within {THREAD_TIMEOUT}s")
        if failure:
            thread.join(THREAD_TIMEOUT)
            raise failure[0]
        self._thread = thread
        return self

    def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        server = ToxiproxyServer(seed=self.seed)
        try:
            loop.run_until_complete(server.start(self.host, self.port))
        except BaseException as exc:
            failure.append(exc)
            loop.close()
            ready.set()
            return
        self.server, self._loop = server, loop
        self._stopped = asyncio.Event()
        ready.set()
        try:
            loop.run_until_complete(self._stopped.wait())
            loop.run_until_complete(server.stop())
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self) -> None:
        """Stop the API and every proxy (closing their connections) and join the thread.

        Idempotent; safe to call if :meth:`start` was never called.

        Raises:
            RuntimeError: called from the server's own event loop thread (it would deadlock).
        """
        if self._thread is threading.current_thread():
            raise RuntimeError("stop() cannot be called from the server's own thread")
        thread, self._thread = self._thread, None
        if thread is None:
            return
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stopped.set)
        thread.join(THREAD_TIMEOUT)
        if thread.is_alive():
            logger.warning("the embedded Toxiproxy did not stop within %ss", THREAD_TIMEOUT)
        self._loop = None

    def __enter__(self) -> EmbeddedToxiproxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
