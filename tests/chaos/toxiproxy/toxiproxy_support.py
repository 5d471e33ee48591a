"""Helpers for the embedded Toxiproxy tests: upstream servers, a raw API client, timing."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import aiohttp

#: Generous bound for any single wait in these tests, in seconds.
WAIT = 5.0


def port_of(listen: str) -> int:
    """The port of a ``host:port`` listen address."""
    return int(listen.rsplit(":", 1)[1])


class Upstream:
    """A TCP server on 127.0.0.1 that hands each accepted connection to the test."""

    def __init__(self) -> None:
        self._accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self._server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> Upstream:
        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.writers.append(writer)
            await self._accepted.put((reader, writer))

        self._server = await asyncio.start_server(on_client, "127.0.0.1", 0)
        return self

    @property
    def address(self) -> str:
        assert self._server is not None
        return f"127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def accept(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The next proxied connection as the server sees it."""
        return await asyncio.wait_for(self._accepted.get(), WAIT)

    async def close(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        if self._server is not None:
            self._server.close()


async def start_echo() -> tuple[asyncio.Server, str]:
    """An echo server; returns it and its ``127.0.0.1:port``."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, f"127.0.0.1:{server.sockets[0].getsockname()[1]}"


def start_thread_echo() -> tuple[socket.socket, str]:
    """An echo server on blocking sockets in daemon threads, for tests without an event loop
    (toxiproxy-python, subprocesses). Returns the listener (close it to stop accepting) and its
    ``127.0.0.1:port``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def echo(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError:  # reset by a toxic or a closing proxy
                pass

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # the listener was closed
                return
            threading.Thread(target=echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return listener, f"127.0.0.1:{listener.getsockname()[1]}"


class Api:
    """Raw HTTP against the API: status, headers and body exactly as sent."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def request(
        self,
        method: str,
        path: str,
        body: bytes | dict[str, Any] | list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, bytes]:
        data = json.dumps(body).encode() if isinstance(body, dict | list) else body
        async with self.session.request(
            method, self.url + path, data=data, headers=headers, allow_redirects=False
        ) as response:
            return response.status, response.headers, await response.read()

    async def call(
        self, method: str, path: str, body: bytes | dict[str, Any] | list[Any] | None = None
    ) -> tuple[int, Any]:
        """Status and the parsed JSON body (None when empty)."""
        status, _, raw = await self.request(method, path, body)
        return status, json.loads(raw) if raw else None

    async def create_proxy(self, name: str, upstream: str, **extra: Any) -> dict[str, Any]:
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": upstream, **extra}
        status, data = await self.call("POST", "/proxies", body)
        assert status == 201, data
        return data

    async def add_toxic(self, proxy: str, **body: Any) -> dict[str, Any]:
        status, data = await self.call("POST", f"/proxies/{proxy}/toxics", body)
        assert status == 200, data
        return data

    async def update_toxic(self, proxy: str, toxic: str, **body: Any) -> dict[str, Any]:
        status, data = await self.call("PATCH", f"/proxies/{proxy}/toxics/{toxic}", body)
        assert status == 200, data
        return data

    async def remove_toxic(self, proxy: str, toxic: str) -> None:
        status, data = await self.call("DELETE", f"/proxies/{proxy}/toxics/{toxic}")
        assert status == 204, data

    async def set_enabled(self, proxy: str, enabled: bool) -> dict[str, Any]:
        status, data = await self.call("POST", f"/proxies/{proxy}", {"enabled": enabled})
        assert status == 200, data
        return data


async def connect(listen: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a client connection to a proxy's listen address."""
    return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port_of(listen)), WAIT)


Pair = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def proxied(api: Api, upstream: Upstream, name: str = "p") -> tuple[Pair, Pair]:
    """A proxy ``name`` to ``upstream`` and one connection through it.

    Returns:
        ``(client reader, client writer), (server reader, server writer)``; one byte has gone
        through, so both links exist and toxics added now meet an open connection.
    """
    created = await api.create_proxy(name, upstream.address)
    client = await connect(created["listen"])
    server = await upstream.accept()
    server[1].write(b"!")
    assert await asyncio.wait_for(client[0].readexactly(1), WAIT) == b"!"
    return client, server


async def round_trip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> float:
    """Send ``payload`` to an echo and read it back; returns the elapsed seconds."""
    start = time.perf_counter()
    writer.write(payload)
    received = await asyncio.wait_for(reader.readexactly(len(payload)), WAIT)
    assert received == payload
    return time.perf_counter() - start


async def read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, str]:
    """Read to the end; returns the bytes and how it ended: ``"fin"`` or ``"rst"``."""
    data = bytearray()
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), WAIT):
            data += chunk
    except ConnectionResetError:
        return bytes(data), "rst"
    return bytes(data), "fin"
