"""``wschaos client``: the seed's UI in a terminal, for a person trying the emulator by hand.

Type a query and press Enter: its progress and answer appear as they arrive, and the status line
is printed on every change. ``/reconnect`` is the seed's "Reconnect Now" button; ``/status``
prints the status line; ``/quit`` (or end of input) leaves. Queries run in the background, so
``/reconnect`` works while one is waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import TextIO

from client.client import ResilientWebSocketClient
from client.errors import QueryFailed
from client.state import ConnectionState, StatusChange

__all__ = ["HELP", "run"]

HELP = "type a query and press Enter; /reconnect = Reconnect Now, /status, /help, /quit"

#: States in which the seed's UI shows its "Reconnect Now" button.
_OFFER_RECONNECT = (ConnectionState.DISCONNECTED, ConnectionState.FAILED)


async def run(client: ResilientWebSocketClient, stdin: TextIO, stdout: TextIO) -> int:
    """Drive ``client`` from the lines of ``stdin`` until ``/quit`` or end of input.

    Returns:
        The exit status: 0.
    """

    def say(line: str) -> None:
        print(line, file=stdout, flush=True)

    def show(change: StatusChange) -> None:
        hint = "  (/reconnect to reconnect now)" if change.new in _OFFER_RECONNECT else ""
        say(f"status: {change.text}{hint}")

    async def ask(text: str) -> None:
        try:
            result = await client.send_query(
                text, on_progress=lambda message: say(f"  progress: {message}")
            )
        except QueryFailed as exc:
            say(f"error: {exc}")
            return
        say(
            f"answer ({result.transport}, {result.latency * 1000:.0f} ms, "
            f"reconnects {result.reconnects}): {json.dumps(result.answer, ensure_ascii=False)}"
        )

    say(
        f"wschaos client: {client.url}" + (f" (REST: {client.rest_url})" if client.rest_url else "")
    )
    say(HELP)
    say(f"status: {client.status_text}")
    unsubscribe = client.subscribe(show)
    tasks: set[asyncio.Task[object]] = set()
    queries: set[asyncio.Task[object]] = set()

    def spawn(coro: Coroutine[object, None, object], *into: set[asyncio.Task[object]]) -> None:
        task = asyncio.create_task(coro)
        for group in (tasks, *into):
            group.add(task)
            task.add_done_callback(group.discard)

    spawn(client.ensure_connection())  # connect on start, as the page does on load
    try:
        async for line in _lines(stdin):
            command = line.strip()
            if not command:
                continue
            if command in ("/quit", "/exit"):
                break
            if command == "/reconnect":
                say("reconnecting now")
                spawn(client.reconnect())
            elif command == "/status":
                say(f"status: {client.status_text}")
            elif command == "/help":
                say(HELP)
            elif command.startswith("/"):
                say(f"unknown command {command!r}; {HELP}")
            else:
                spawn(ask(command), queries)
        # Queries in flight finish (each is bounded); a pending connect does not hold us up.
        await asyncio.gather(*queries, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
        unsubscribe()
        await client.close()
        say("bye")
    return 0


async def _lines(stream: TextIO) -> AsyncIterator[str]:
    """Yield the lines of a blocking text stream without blocking the event loop.

    A daemon thread does the reading, so a read still waiting at exit never holds the process.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        # The loop may be closed while this thread still reads (a line typed after /quit):
        # call_soon_threadsafe then raises RuntimeError, and there is no one left to tell.
        with contextlib.suppress(RuntimeError):
            try:
                for line in stream:
                    loop.call_soon_threadsafe(queue.put_nowait, line)
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="wschaos-client-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line
