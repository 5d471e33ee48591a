"""Emulators shared by a test session: a pool that starts each once, and one test's view of one.

An :class:`emulator.EmulatorServer` runs on its own loop in a thread, so tests on any loop (or
none) use it. Tests that want the same API config at the same time scale share one server;
:meth:`Emulator.reset` isolates them, and :meth:`Emulator.check` raises in the test what its
handlers raised in the emulator's threads.

Example::

    pool = EmulatorPool()
    emulator = Emulator(pool.get(config, time_scale=600))
    emulator.reset()
    ...  # connect to emulator.ws_url
    emulator.check()  # raises the handlers' failures
    pool.close()
"""

from __future__ import annotations

import threading
import warnings
from typing import TYPE_CHECKING

from chaos.testing._collect import raise_collected
from chaos.testing.settings import CLOSE_TIMEOUT

if TYPE_CHECKING:
    from emulator import ApiConfig, EmulatorServer, Gateway, IntegrationError

__all__ = ["Emulator", "EmulatorPool"]


class Emulator:
    """One test's view of a running emulator (what ``wschaos_emulator`` gives).

    Every method blocks the calling thread (never the emulator's loop) for at most
    :data:`~chaos.testing.settings.CLOSE_TIMEOUT` real seconds; call them from sync or async
    tests alike.

    Attributes:
        server: the :class:`emulator.EmulatorServer` (shared by the tests with the same config
            and time scale).
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
        config restored); then, once the handlers still running have ended (at most
        :data:`~chaos.testing.settings.CLOSE_TIMEOUT`), forget every handler failure so far."""

        async def reset(gateway: Gateway) -> None:
            await gateway.reset()
            await gateway.settle(CLOSE_TIMEOUT)
            gateway.handler_errors.clear()

        self.server.call(reset, timeout=2 * CLOSE_TIMEOUT)

    def settle(self, timeout: float = CLOSE_TIMEOUT) -> bool:
        """Wait until the emulator's handlers and replies in flight have ended.

        Args:
            timeout: real seconds to wait at most.

        Returns:
            True when nothing runs any more; False when something still ran at ``timeout``.
        """
        return self.server.call(lambda gateway: gateway.settle(timeout), timeout=timeout + 5.0)

    def take_handler_errors(self) -> list[IntegrationError]:
        """The handler failures so far (oldest first), which then no longer fail the test.

        A failure is recorded before the caller gets API Gateway's error answer, so a test that
        saw the answer finds the failure here.
        """

        def take(gateway: Gateway) -> list[IntegrationError]:
            errors = list(gateway.handler_errors)
            gateway.handler_errors.clear()
            return errors

        return self.server.call(take)

    def check(self) -> None:
        """Let the handlers in flight end, then raise the failures not taken: one as itself,
        several as an :class:`ExceptionGroup`.

        Tasks still running after :data:`~chaos.testing.settings.CLOSE_TIMEOUT` (a handler that
        does not return, a reply held back by a ``delay_replies`` fault) get a
        :class:`RuntimeWarning`: failures they raise later are not reported.
        """
        if not self.settle():
            warnings.warn(
                f"emulator {self.ws_url}: handlers or replies still running {CLOSE_TIMEOUT:g}s "
                "after the test; failures they raise later are not reported",
                RuntimeWarning,
                stacklevel=2,
            )
        raise_collected(self.take_handler_errors(), "handler failures in the emulator")


class EmulatorPool:
    """Running emulators by (API config, time scale): each starts on first use and serves every
    caller that asks for the same pair, until :meth:`close`. Thread-safe."""

    def __init__(self) -> None:
        self._servers: dict[tuple[str, float], EmulatorServer] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, config: ApiConfig | None, time_scale: float = 1.0) -> EmulatorServer:
        """The running emulator for ``config`` (None = the built-in sample API) at
        ``time_scale``, started now if it is the first request for that pair.

        Starting an emulator points ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`` at it.

        Raises:
            RuntimeError: the pool is closed.
            OSError, EmulatorError: the emulator cannot start.
        """
        from emulator import ApiConfig, EmulatorServer

        config = config if config is not None else ApiConfig()
        # ApiConfig is a frozen dataclass of plain values but holds dicts (not hashable): its
        # repr identifies it.
        key = (repr(config), float(time_scale))
        with self._lock:
            if self._closed:
                raise RuntimeError("the emulator pool is closed")
            server = self._servers.get(key)
            if server is None:
                server = EmulatorServer(config, time_scale=time_scale).start()
                self._servers[key] = server
            return server

    def close(self) -> None:
        """Stop every emulator, last started first; one that fails to stop does not keep the
        others running. Idempotent.

        Raises:
            Exception: what stopping raised (several as an :class:`ExceptionGroup`), once all
                were stopped.
        """
        with self._lock:
            self._closed = True
            servers, self._servers = list(self._servers.values()), {}
        errors: list[BaseException] = []
        for server in reversed(servers):
            try:
                server.stop()
            except Exception as exc:  # collected: the others must still stop
                errors.append(exc)
        raise_collected(errors, "emulators failed to stop")
