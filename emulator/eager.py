"""Run work at once, and only pay for waiting machinery if it has to wait.

Most of the gateway's per-message work (route, event, an async handler that answers at once, a
frame write) never waits, yet a task and a timeout per message cost as much as the work itself.

- :func:`start_eager` starts a coroutine as a task that runs its first step at once (an eager
  task, Python 3.12+); on 3.11 it is an ordinary task. Eager stepping outside a task is not done
  on 3.11 because code run that way would see the caller's task as ``current_task()`` (a timeout
  entered there would cancel the caller).
- :class:`Resume` continues, inside the current task, a coroutine that was stepped by hand up to
  its first suspension (by re-yielding the future it waits on: the ``yield from`` protocol
  asyncio's tasks drive). The Lambda runtime steps async handlers that way, so one that answers at
  once needs no timeout.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

__all__ = ["Resume", "start_eager"]

T = TypeVar("T")

# The gateway's own work fails here: reported under its logger.
logger = logging.getLogger("emulator.gateway")

_EAGER = sys.version_info >= (3, 12)


class Resume:
    """An awaitable that continues a coroutine which already ran up to its first suspension.

    Args:
        coro: the coroutine, suspended.
        pending: what it yielded (a future it waits on, or None for a bare yield).
    """

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation and the like go on to the coroutine
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def start_eager(
    coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop
) -> asyncio.Task[Any] | None:
    """Start ``coro`` as a task; on Python 3.12+ its first step runs now (an eager task).

    Returns:
        None if it already finished (an eager task that never waited), else the task.
    """
    if _EAGER:
        task = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]
        return None if task.done() and _consume(task) else task
    return loop.create_task(coro)


def _consume(task: asyncio.Task[Any]) -> bool:
    """Mark a finished task's outcome as seen; exceptions are logged like a failed task's."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("gateway work failed", exc_info=task.exception())
    return True
