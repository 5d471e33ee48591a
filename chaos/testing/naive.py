"""The seed's starting point as a client adapter: plain ``websockets``, nothing resilient.

No heartbeat, no automatic reconnect, no REST fallback, no query timeout: it connects once, sends
``finops_query`` messages over that socket and waits for their result. Once the socket is gone,
every query fails at once; a lost reply is waited for forever. "Reconnect Now" does what the
button did in the seed: close, then connect again. It exists to prove that the built-in suite
fails a client that does not recover (``wschaos run --client chaos.testing.naive:naive_client``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from chaos.adapter import Answer, ClientSettings, StatusEvent

__all__ = ["NaiveClient", "naive_client"]


class NaiveClient:
    """A :class:`~chaos.adapter.ClientAdapter` with no resilience at all.

    Args:
        ws_url: the WebSocket API's URL.
    """

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._status = "disconnected"
        self._callbacks: list[Callable[[StatusEvent], None]] = []

    @property
    def status(self) -> str:
        return self._status

    def subscribe(self, callback: Callable[[StatusEvent], None]) -> Callable[[], None]:
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def _set(self, state: str) -> None:
        if state == self._status:
            return
        self._status = state
        event = StatusEvent(state=state, text=f"WebSocket: {state}", at=time.monotonic())
        for callback in list(self._callbacks):
            callback(event)

    async def connect(self) -> bool:
        self._set("connecting")
        try:
            # The seed switched nothing on: no keepalive of its own, so protocol pings are off too.
            self._ws = await connect(self.ws_url, ping_interval=None)
        except Exception:  # refused, rejected, timed out: the seed just showed it
            self._set("disconnected")
            return False
        self._set("connected")
        self._reader = asyncio.create_task(self._read(self._ws))
        return True

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                try:
                    data = json.loads(message)
                except ValueError:
                    continue
                if not isinstance(data, dict) or data.get("type") not in ("result", "error"):
                    continue
                future = self._pending.pop(str(data.get("query_id")), None)
                if future is not None and not future.done():
                    future.set_result(data)
        except ConnectionClosed:
            pass
        finally:
            if ws is self._ws:
                self._set("disconnected")
                self._fail_pending("the WebSocket connection closed")

    async def query(self, text: str, *, query_id: str) -> Answer:
        ws = self._ws
        if ws is None or self._status != "connected":
            raise ConnectionError("not connected")
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[query_id] = future
        await ws.send(json.dumps({"action": "finops_query", "query_id": query_id, "query": text}))
        data = await future  # no timeout: the seed waited for ever
        if data["type"] == "error":
            raise RuntimeError(f"query failed: {data.get('message')}")
        return Answer(
            query_id=str(data["query_id"]), transport="websocket", answer=data.get("answer") or {}
        )

    async def reconnect(self) -> None:
        await self.close()
        await self.connect()

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        reader, self._reader = self._reader, None
        if ws is not None:
            await ws.close()
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._fail_pending("closed by the client")
        self._set("disconnected")

    def _fail_pending(self, reason: str) -> None:
        """Every query still waiting ends in a ``ConnectionError(reason)``."""
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))


def naive_client(settings: ClientSettings) -> NaiveClient:
    """Factory for ``--client chaos.testing.naive:naive_client``; ignores every option."""
    return NaiveClient(settings.ws_url)
