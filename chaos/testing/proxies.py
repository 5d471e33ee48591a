"""One test's Toxiproxy proxies in front of an emulator, usable from any event loop.

:class:`Proxies` wraps :class:`chaos.proxies.RunProxies` (which lives on a
:class:`~chaos.testing.loop_thread.LoopThread`) with the ``websocket`` and ``rest`` targets and
the URLs a client dials through them. :meth:`Proxies.open` creates them, :meth:`Proxies.close`
deletes them; the same code serves the embedded Toxiproxy and a real one at ``TOXIPROXY_URL``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chaos.testing.settings import CONTROL_TIMEOUT

if TYPE_CHECKING:
    from chaos.proxies import RunProxies, Toxic
    from chaos.testing.loop_thread import LoopThread
    from emulator import EmulatorServer

__all__ = ["Proxies", "proxy_prefix"]

#: Characters of a test's name kept in its proxies' names.
_NAME_CHARS = 40


def proxy_prefix(test_name: str) -> str:
    """A unique proxy name prefix for a test: ``wschaos-test-<6 hex>-<slug of its name>``, so
    concurrent sessions on one Toxiproxy never collide and a leftover names its test."""
    slug = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:_NAME_CHARS]
    return f"wschaos-test-{uuid.uuid4().hex[:6]}-{slug}"


class Proxies:
    """The Toxiproxy proxies of one test, in front of its emulator (``wschaos_proxies``).

    Targets are ``websocket``, ``rest`` or ``all``. Toxic attributes are Toxiproxy wire units
    (ms, KB/s, bytes) and are never scaled. Every coroutine method may be awaited from any event
    loop; each call is bounded by :data:`~chaos.testing.settings.CONTROL_TIMEOUT`.

    Attributes:
        ws_url: the WebSocket API through the ``websocket`` proxy.
        rest_url: the REST API's stage base through the ``rest`` proxy.
        run: the underlying :class:`chaos.proxies.RunProxies` (it lives on ``worker``'s loop).
    """

    def __init__(self, run: RunProxies, worker: LoopThread, ws_url: str, rest_url: str) -> None:
        self.run = run
        self.ws_url = ws_url
        self.rest_url = rest_url
        self._worker = worker

    @classmethod
    def open(
        cls,
        worker: LoopThread,
        server: EmulatorServer,
        toxiproxy_url: str,
        *,
        prefix: str,
        upstream_host: str | None = None,
    ) -> Proxies:
        """Create the ``websocket`` and ``rest`` proxies in front of ``server`` (blocking).

        Args:
            worker: the loop the Toxiproxy client lives on.
            server: the emulator the proxies lead to.
            toxiproxy_url: the Toxiproxy API, e.g. ``http://127.0.0.1:8474``.
            prefix: the proxies' name prefix (see :func:`proxy_prefix`).
            upstream_host: how that Toxiproxy reaches the emulator; None = the emulator's own
                address (right for the embedded Toxiproxy and one on the host network).

        Raises:
            ToxiproxyError: the API refused or could not be reached; nothing is left behind.
        """
        from chaos.proxies import RunProxies, ToxiproxyClient, listen_host_for

        upstream = upstream_host or urlsplit(server.http_url).hostname
        dial = urlsplit(toxiproxy_url).hostname or "127.0.0.1"
        client = ToxiproxyClient(toxiproxy_url, timeout=CONTROL_TIMEOUT)
        run = RunProxies(
            client,
            prefix,
            {"websocket": f"{upstream}:{server.port}", "rest": f"{upstream}:{server.rest_port}"},
            # A Toxiproxy elsewhere (a container) must listen where this process reaches it;
            # the same rule as `wschaos run` (chaos.proxies.listen_host_for).
            listen_host=listen_host_for(dial),
            dial_host=dial,
        )
        try:
            listen = worker.run(run.create())
        except BaseException:
            _close(worker, run)
            raise
        stage = server.stage
        return cls(
            run,
            worker,
            ws_url=f"ws://{listen['websocket']}/{stage}",
            rest_url=f"http://{listen['rest']}/{stage}",
        )

    def close(self) -> None:
        """Delete the proxies (their connections drop) and close the API client (blocking).
        Idempotent."""
        _close(self._worker, self.run)

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
        """Add a toxic (``latency``, ``bandwidth``, ``timeout``, ``reset_peer``, ...); one per
        proxy of ``target``."""
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
        """Merge ``attributes`` into the toxic ``name`` (``toxicity`` None keeps it); live
        connections take it at once."""
        return await self._worker.call(
            self.run.update_toxic(target, name, attributes=attributes, toxicity=toxicity)
        )

    async def clear_toxics(self, target: str = "all") -> None:
        """Remove every toxic of the proxy."""
        await self._worker.call(self.run.clear_toxics(target))


def _close(worker: LoopThread, run: RunProxies) -> None:
    try:
        worker.run(run.destroy())
    finally:
        worker.run(run.client.close())
