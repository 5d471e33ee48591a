"""Running Lambda handlers as AWS runs them: ``handler(event, context)`` (design §5).

Handlers are ``module:function`` references. Coroutine functions run on the emulator's event loop;
plain functions run in a thread pool, so a blocking handler (boto3 calls, sleeps) never stalls the
gateway. Each invocation has a budget (the integration timeout): past it the gateway gives up
with :class:`~emulator.exceptions.IntegrationTimeout`, as AWS does, while a thread keeps running
to its end like a Lambda that outlives its API call.

:class:`LambdaContext` is the usual Lambda context plus :meth:`LambdaContext.post_to_connection`,
which pushes to a connection in-process through the gateway's @connections operation.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from emulator.eager import Resume
from emulator.exceptions import HandlerError, IntegrationError, IntegrationTimeout
from emulator.ids import ACCOUNT_ID, new_uuid

__all__ = ["Handler", "LambdaContext", "LambdaRuntime", "Poster", "load_handler"]

Handler = Callable[[dict[str, Any], "LambdaContext"], Any]

#: Real seconds a sync handler's post_to_connection waits for the emulator's loop.
_POST_WAIT = 10.0

_cache: dict[str, Handler] = {}
_cache_lock = threading.Lock()


def load_handler(spec: str) -> Handler:
    """Resolve ``module:function`` (``module:obj.attr`` too) to a callable.

    Raises:
        HandlerError: the reference is malformed, the module cannot be imported, or the name is
            missing or not callable; the message says which.
    """
    cached = _cache.get(spec)  # a dict read is atomic; the lock only guards filling it
    if cached is not None:
        return cached
    module_name, sep, attr = spec.partition(":") if isinstance(spec, str) else ("", "", "")
    if not sep or not module_name or not attr:
        raise HandlerError("must be a handler reference module:function")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise HandlerError(f"cannot import {module_name}: {type(exc).__name__}: {exc}") from exc
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise HandlerError(f"{module_name} has no attribute {attr}") from None
    if not callable(target):
        raise HandlerError(f"{spec} is not callable")
    with _cache_lock:
        _cache[spec] = target
    return target


class Poster(Protocol):
    """The gateway's in-process @connections post (see ``Gateway.post_to_connection``)."""

    def __call__(
        self, connection_id: str, data: bytes, *, route: str | None = None
    ) -> Awaitable[None] | None: ...


class LambdaContext:
    """The ``context`` a handler receives.

    Attributes follow the Lambda Python runtime (``aws_request_id``, ``function_name``, …);
    :meth:`post_to_connection` is the emulator's in-process @connections push.
    """

    function_version = "$LATEST"
    memory_limit_in_mb = 128
    identity = None
    client_context = None

    __slots__ = ("_deadline", "_loop", "_poster", "_request_id", "_route", "function_name")

    def __init__(
        self,
        *,
        function_name: str,
        deadline: float,
        route: str | None,
        poster: Poster,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.function_name = function_name
        self._request_id: str | None = None
        self._deadline = deadline
        self._route = route
        self._poster = poster
        self._loop = loop

    @property
    def aws_request_id(self) -> str:
        """The invocation's id (a UUID, made on first use)."""
        if self._request_id is None:
            self._request_id = new_uuid()
        return self._request_id

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN (region us-east-1, the emulator's account id)."""
        return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """``/aws/lambda/{function_name}``."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """A stream name in Lambda's ``YYYY/MM/DD/[$LATEST]id`` shape."""
        return time.strftime("%Y/%m/%d/[$LATEST]") + self.aws_request_id.replace("-", "")

    def get_remaining_time_in_millis(self) -> int:
        """Real milliseconds left of the integration budget (never negative)."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def post_to_connection(self, connection_id: str, data: str | bytes) -> Awaitable[None] | None:
        """Send ``data`` as a text frame to a connection, like PostToConnection.

        In an async handler (on the emulator's loop) the checks run at once and the frame is
        written by a task: the return value may be awaited to wait for the write, or ignored. In a
        sync handler (a worker thread) the call blocks until the frame is written.

        Raises:
            GoneException: the connection is closed, unknown or still connecting.
            PayloadTooLargeException: ``data`` is over the message limit.
        """
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if _on_loop(self._loop):
            return self._poster(connection_id, payload, route=self._route)

        async def post() -> None:
            pending = self._poster(connection_id, payload, route=self._route)
            if pending is not None:
                await pending

        # Bounded so a handler thread never hangs on an emulator that is shutting down.
        future = asyncio.run_coroutine_threadsafe(post(), self._loop)
        try:
            future.result(timeout=_POST_WAIT)
        except TimeoutError:
            future.cancel()  # do not leave the write pending after the handler gave up on it
            raise
        return None


def _function_name(spec: str) -> str:
    return spec.replace(":", "-").replace(".", "-")


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class LambdaRuntime:
    """Invokes handlers for one gateway.

    Args:
        max_workers: threads for sync handlers.
    """

    def __init__(self, *, max_workers: int = 32) -> None:
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self._resolved: dict[str, tuple[Handler, bool, str]] = {}

    def _pool(self) -> ThreadPoolExecutor:
        if self._closed:
            # A new pool now would outlive the emulator (its threads are joined at exit).
            raise RuntimeError("the emulator is shutting down")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="wschaos-lambda"
            )
        return self._executor

    async def invoke(
        self,
        spec: str,
        event: dict[str, Any],
        *,
        budget: float,
        route: str | None,
        poster: Poster,
        stall: float = 0.0,
    ) -> Any:
        """Invoke the handler ``spec`` with ``event`` and return its result.

        Args:
            spec: ``module:function``.
            event: the event.
            budget: real seconds the integration may take, stall included.
            route: the route whose handler this is (for reply faults on its posts), or None.
            poster: the gateway's in-process post, given to the context.
            stall: real seconds to wait before invoking (the ``stall_integrations`` fault).

        Raises:
            IntegrationTimeout: past ``budget``.
            IntegrationError: the handler could not be loaded or raised; ``__cause__`` is why.
        """
        loop = asyncio.get_running_loop()
        resolved = self._resolved.get(spec)
        if resolved is None:
            try:
                handler = load_handler(spec)
            except HandlerError as exc:
                raise IntegrationError(f"{spec}: {exc}") from exc
            resolved = (handler, inspect.iscoroutinefunction(handler), _function_name(spec))
            self._resolved[spec] = resolved
        handler, is_async, name = resolved
        context = LambdaContext(
            function_name=name,
            deadline=time.monotonic() + budget,
            route=route,
            poster=poster,
            loop=loop,
        )
        pending: Any = None
        eager = is_async and stall <= 0
        if eager:
            # Most async handlers answer without waiting: run them at once, and only put a
            # timeout around the rest if they do wait (see emulator.eager).
            coro = handler(event, context)
            try:
                pending = coro.send(None)
            except StopIteration as stop:
                return stop.value
            except Exception as exc:
                raise IntegrationError(f"{spec} raised {type(exc).__name__}: {exc}") from exc
        scope = asyncio.timeout(budget)
        try:
            async with scope:
                if eager:
                    return await Resume(coro, pending)
                if stall > 0:
                    await asyncio.sleep(stall)
                if is_async:
                    return await handler(event, context)
                result = await loop.run_in_executor(self._pool(), handler, event, context)
                if inspect.isawaitable(result):
                    result = await result
                return result
        except TimeoutError as exc:
            if scope.expired():
                raise IntegrationTimeout(f"{spec} ran past {budget:g}s") from exc
            raise IntegrationError(f"{spec} raised {type(exc).__name__}: {exc}") from exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise IntegrationError(f"{spec} raised {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Stop the thread pool without waiting for handlers still running; later sync
        invocations fail with :class:`IntegrationError`."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
