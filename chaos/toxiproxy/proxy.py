"""A proxy: a TCP listener whose every accepted client is linked to a fresh upstream connection.

Mirrors Toxiproxy's ``proxy.go``: ``listen`` is replaced by the bound address once started (so a
disabled-then-enabled proxy re-binds the same port); ``enabled: false`` closes the listener (new
connects are refused) and every socket of every connection, client and upstream side. An upstream
that cannot be dialled gets the client closed at once (it sees the connect succeed, then EOF).
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket

from chaos.toxiproxy import errors
from chaos.toxiproxy.addr import (
    AddressError,
    bind_listener,
    dial_host,
    parse_port,
    resolve,
    split_host_port,
)
from chaos.toxiproxy.gojson import join_object, quote
from chaos.toxiproxy.link import Endpoint, ToxicLink
from chaos.toxiproxy.stream import Direction
from chaos.toxiproxy.toxic_collection import ToxicCollection

__all__ = ["Connection", "Proxy"]

logger = logging.getLogger(__name__)


class Connection:
    """One accepted client and its upstream connection, with a link each way."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.client = Endpoint(self._endpoint_lost)
        self.upstream: Endpoint | None = None
        self.links: list[ToxicLink] = []
        self._opening: asyncio.Task[None] | None = None
        self._done = False

    def start(self) -> None:
        """Dial the upstream in the background (the accept loop never waits on a dial)."""
        self._opening = asyncio.get_running_loop().create_task(self._open())

    async def _open(self) -> None:
        """Dial the upstream and link both sides; on any failure close the client."""
        loop = asyncio.get_running_loop()
        upstream = Endpoint(self._endpoint_lost)
        try:
            host, service = split_host_port(self.proxy.upstream)
            await loop.create_connection(lambda: upstream, dial_host(host), parse_port(service))
        except Exception as exc:
            # Any dial failure (OSError, AddressError, an IDNA UnicodeError, a NUL's ValueError):
            # Toxiproxy only logs it; the client sees its connect succeed, then EOF.
            logger.info(
                "proxy %s: cannot reach upstream %s: %s", self.proxy.name, self.proxy.upstream, exc
            )
            self.client.close()
            return
        self.upstream = upstream
        if self.client.lost or self.client.closing:
            upstream.abort()  # the client left (or the proxy stopped) while we dialled
            return
        toxics = self.proxy.toxics
        self.links = [
            toxics.start_link(Direction.UPSTREAM, self.client, upstream),
            toxics.start_link(Direction.DOWNSTREAM, upstream, self.client),
        ]

    def abort(self) -> None:
        """Close both sockets now and cancel the dial and every stage (the proxy is stopping)."""
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        for link in self.links:
            link.kill()
        self.client.abort()
        if self.upstream is not None:
            self.upstream.abort()

    def _endpoint_lost(self) -> None:
        if self._done:
            return
        upstream_gone = self.upstream is None or self.upstream.lost
        if self.client.lost and upstream_gone:
            self._done = True
            for link in self.links:
                link.kill()  # stages still waiting (a reset_peer timer) have nothing left to do
            self.proxy.connections.discard(self)


class Proxy:
    """A named proxy from ``listen`` to ``upstream`` with its toxics.

    Attributes:
        listen: the address as last sent, or the bound address (``127.0.0.1:41234``) once started.
        upstream: stored verbatim, resolved at each dial.
        enabled: True while listening.
    """

    def __init__(self, name: str, listen: str, upstream: str, rng: random.Random) -> None:
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics = ToxicCollection(rng)
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None

    def to_json(self) -> str:
        """The proxy object in Toxiproxy's key order, ``"Logger":{}`` quirk included."""
        return join_object(
            [
                ("name", quote(self.name)),
                ("listen", quote(self.listen)),
                ("upstream", quote(self.upstream)),
                ("enabled", "true" if self.enabled else "false"),
                ("Logger", "{}"),
                ("toxics", self.toxics.to_json()),
            ]
        )

    async def start(self) -> None:
        """Bind ``listen`` and accept clients; a no-op when already started.

        Raises:
            ApiError: 500 with Go's text (``listen tcp 127.0.0.1:3310: bind: address already in
                use``); the proxy stays disabled.
        """
        if self.enabled:
            return
        try:
            address = await resolve(self.listen)
        except AddressError as exc:
            raise errors.internal(f"listen tcp: {exc}") from None
        try:
            sock, bound = bind_listener(address)
        except AddressError as exc:
            raise errors.internal(str(exc)) from None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, sock=sock, backlog=socket.SOMAXCONN)
        self.listen = bound
        self.enabled = True

    def stop(self) -> None:
        """Stop listening and close every connection (both sockets); toxics are kept."""
        if not self.enabled:
            return
        self.enabled = False
        if self._server is not None:
            self._server.close()
            self._server = None
        for connection in list(self.connections):
            connection.abort()
        self.connections.clear()

    def _accept(self) -> asyncio.Protocol:
        connection = Connection(self)
        self.connections.add(connection)
        connection.start()
        return connection.client
