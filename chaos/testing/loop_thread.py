"""An event loop in a daemon thread, for a harness's own I/O whatever loop the test runs on.

The Toxiproxy control sessions and scenario runs live on this one loop, so a test on any
pytest-asyncio loop scope, or no loop at all, can drive them: synchronous code calls
:meth:`LoopThread.run`, coroutines on another loop await :meth:`LoopThread.call`. Either way a
caller that stops waiting (a timeout, a cancelled test) cancels the work, so nothing keeps running
into the next test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import warnings
from collections.abc import Coroutine
from typing import Any, TypeVar

from chaos.testing.settings import CLOSE_TIMEOUT, CONTROL_TIMEOUT

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread until :meth:`stop`.

    Args:
        name: the thread's name (shown in thread dumps and by pytest-timeout).
    """

    def __init__(self, name: str = "wschaos-harness") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._stopped = False
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = CONTROL_TIMEOUT) -> T:
        """Run ``coro`` on the loop and block until it ends.

        Args:
            coro: the work.
            timeout: real seconds to wait; None = as long as it takes (the coroutine bounds
                itself, e.g. a scenario run bounds each step).

        Raises:
            TimeoutError: not done within ``timeout``; the coroutine is cancelled.
            RuntimeError: the loop was stopped.
            Whatever ``coro`` raises.
        """
        future = self._submit(coro)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"no result within {timeout:g}s (cancelled)") from None
        except BaseException:
            # Interrupted (Ctrl-C, pytest-timeout): the work must not outlive the test.
            future.cancel()
            raise

    async def call(
        self, coro: Coroutine[Any, Any, T], timeout: float | None = CONTROL_TIMEOUT
    ) -> T:
        """Await ``coro`` on the loop from a coroutine on any other loop.

        Args:
            coro: the work.
            timeout: real seconds to wait; None = as long as it takes.

        Raises:
            TimeoutError: not done within ``timeout``; the coroutine is cancelled.
            RuntimeError: the loop was stopped.
            Whatever ``coro`` raises. Cancelling the caller cancels the coroutine.
        """
        future = asyncio.wrap_future(self._submit(coro))
        async with asyncio.timeout(timeout):
            return await future

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self._stopped:
            coro.close()
            raise RuntimeError("the harness loop is stopped")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Cancel what still runs on the loop, stop it and close it. Idempotent.

        Args:
            timeout: real seconds for the tasks to end, for the executor's threads to end, and
                for the thread to exit; past them the daemon thread is left behind with a
                :class:`RuntimeWarning`.
        """
        if self._stopped:
            return
        self._stopped = True
        cleanup = asyncio.run_coroutine_threadsafe(self._cancel_all(timeout), self.loop)
        # Two bounded steps (tasks, executor); past them the thread will not exit either,
        # which is reported below.
        with contextlib.suppress(concurrent.futures.TimeoutError):
            cleanup.result(2 * timeout + 1.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            warnings.warn(
                f"{self._thread.name}: the harness loop did not stop within {timeout:g}s",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        self.loop.close()

    async def _cancel_all(self, timeout: float) -> None:
        # What asyncio.run does on the way out: no task, async generator or executor job left.
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self.loop.shutdown_asyncgens()
        # aiohttp resolves names in the default executor; its threads must not outlive the loop.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.loop.shutdown_default_executor(), timeout)
