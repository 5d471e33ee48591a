"""Chaos running concurrently with a test, whose failures surface in the test.

A test starts tasks on its own loop with :meth:`Background.spawn` or :meth:`Background.after`;
at teardown :meth:`Background.aclose` cancels those still running and :meth:`Background.check`
raises what any of them raised, so a fault that could not be applied never passes silently.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable
from typing import Any, TypeVar

from chaos.testing._collect import raise_collected
from chaos.testing.settings import CLOSE_TIMEOUT

__all__ = ["Background"]

T = TypeVar("T")


class Background:
    """Tasks run concurrently with the test (``wschaos_background``).

    Every task runs on the loop :meth:`aclose` runs on: with pytest-asyncio, the test's loop
    scope must be the fixtures' (``asyncio_default_fixture_loop_scope``), else :meth:`aclose`
    reports the tasks it cannot wait for.

    Attributes:
        errors: what the finished tasks raised so far, oldest first (cancellation is not an
            error); :meth:`check` raises and clears them.
    """

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self.errors: list[BaseException] = []

    def spawn(self, awaitable: Awaitable[T], *, name: str | None = None) -> asyncio.Task[T]:
        """Run ``awaitable`` (a coroutine, task or future) in the background, on the running
        loop; returns its task.

        Raises:
            RuntimeError: no running loop.
        """
        loop = asyncio.get_running_loop()
        task: asyncio.Task[T] = asyncio.ensure_future(awaitable, loop=loop)  # type: ignore[assignment]
        if name is not None:
            task.set_name(name)
        task.add_done_callback(self._done)
        self._tasks.append(task)
        return task

    def after(
        self, delay: float, awaitable: Awaitable[T], *, name: str | None = None
    ) -> asyncio.Task[T]:
        """Await ``awaitable`` after ``delay`` real seconds, in the background; returns the task.

        Pass a coroutine (``proxies.cut("websocket")``): it starts only after ``delay``, and
        never if the task is cancelled first (the test ended). A task or future passed here is
        already running; only awaiting its result is delayed.
        """

        async def later() -> T:
            await asyncio.sleep(delay)
            return await awaitable

        task = self.spawn(later(), name=name)
        if inspect.iscoroutine(awaitable):
            coroutine = awaitable

            def discard(_: asyncio.Task[T]) -> None:
                # Cancelled before it started: close it, so Python does not warn "never awaited".
                if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                    coroutine.close()

            task.add_done_callback(discard)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            self.errors.append(error)

    async def aclose(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Cancel the tasks still running and wait for them, at most ``timeout`` real seconds.

        A task still running after that (it swallows its cancellation, or blocks the loop's
        thread) is recorded in :attr:`errors` as a :class:`TimeoutError` naming it; a task on
        another loop, which cannot be awaited here, at once as a :class:`RuntimeError`.
        """
        pending = [task for task in self._tasks if not task.done()]
        for task in pending:
            task.cancel()
        loop = asyncio.get_running_loop()
        elsewhere = [task for task in pending if task.get_loop() is not loop]
        self.errors.extend(
            RuntimeError(
                f"background task {task.get_name()} runs on another event loop than the "
                "fixture, which cannot wait for it: give the test the fixtures' loop scope "
                "(asyncio_default_fixture_loop_scope)"
            )
            for task in elsewhere
        )
        pending = [task for task in pending if task not in elsewhere]
        if pending:
            _, still = await asyncio.wait(pending, timeout=timeout)
            self.errors.extend(
                TimeoutError(
                    f"background task {task.get_name()} still running {timeout:g}s after "
                    "it was cancelled"
                )
                for task in still
            )

    def check(self) -> None:
        """Raise what the tasks raised (one as itself, several as a group), then forget it."""
        errors, self.errors = self.errors, []
        raise_collected(errors, "background tasks failed")
