"""Resilient clients built for a test, and closed after it, last made first.

:class:`Clients` is what ``wschaos_client_factory`` gives: call it to build a
:class:`client.ResilientWebSocketClient` with the test's defaults (the proxies' URLs, the time
scale, a private metrics registry); :meth:`Clients.aclose` closes every one, each within a
bound, even when another fails to close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chaos.testing._collect import raise_collected
from chaos.testing.settings import CLOSE_TIMEOUT

if TYPE_CHECKING:
    from client import ResilientWebSocketClient

__all__ = ["Clients"]


class Clients:
    """Builds clients with shared defaults and closes them all.

    Args:
        ws_url: the WebSocket URL a client gets when none is given.
        defaults: keyword arguments of :class:`client.ResilientWebSocketClient` for every client
            (``rest_url``, ``time_scale``...); the caller's own keywords win.

    Every client gets its own ``prometheus_client.CollectorRegistry`` unless a ``registry`` is
    given, so several clients never collide on metric names.
    """

    def __init__(self, ws_url: str, defaults: Mapping[str, Any] | None = None) -> None:
        self.ws_url = ws_url
        self.defaults = dict(defaults or {})
        self.made: list[ResilientWebSocketClient] = []

    def __call__(self, url: str | None = None, **options: Any) -> ResilientWebSocketClient:
        """A new client (not yet connected) for ``url`` (None = :attr:`ws_url`), with
        ``options`` over the defaults."""
        from prometheus_client import CollectorRegistry

        from client import ResilientWebSocketClient

        settings: dict[str, Any] = {"registry": CollectorRegistry(), **self.defaults, **options}
        made = ResilientWebSocketClient(url or self.ws_url, **settings)
        self.made.append(made)
        return made

    async def aclose(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Close every client made, last made first, each within ``timeout`` real seconds.

        Raises:
            Exception: what closing raised, or a :class:`TimeoutError` for a client that did not
                close in time (several as a group), once every client was tried.
        """
        errors: list[BaseException] = []
        made, self.made = self.made, []
        for index, client in reversed(list(enumerate(made, 1))):
            try:
                async with asyncio.timeout(timeout):
                    await client.close()
            except TimeoutError:
                errors.append(TimeoutError(f"client {index} did not close within {timeout:g}s"))
            except Exception as exc:  # collected: the others must still be closed
                errors.append(exc)
        raise_collected(errors, "clients failed to close")
