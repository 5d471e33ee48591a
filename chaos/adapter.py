"""The client adapter: how the runner drives a client under test.

A client is plugged in through a *factory*, ``factory(settings) -> ClientAdapter``, named on the
command line as ``--client module:factory``. The default, :func:`resilient_client`, wraps
:class:`client.ResilientWebSocketClient`; ``chaos.testing.naive:naive_client`` is the seed's
naive client, kept to prove that the suite can fail.

The runner calls every method on its own event loop and bounds every call with a deadline.
Status callbacks must be called on that loop too (or from any thread: the runner hands them
back to its loop).
"""

from __future__ import annotations

import importlib
import inspect
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from prometheus_client import CollectorRegistry

from chaos.errors import UserError

__all__ = [
    "DEFAULT_CLIENT",
    "STATES",
    "Answer",
    "ClientAdapter",
    "ClientFactory",
    "ClientSettings",
    "ResilientClientAdapter",
    "StatusEvent",
    "load_factory",
    "resilient_client",
]

#: The factory ``wschaos run`` uses without ``--client``.
DEFAULT_CLIENT = "chaos.adapter:resilient_client"
#: The status values an adapter reports (design §7, lower case).
STATES: tuple[str, ...] = ("connected", "connecting", "reconnecting", "disconnected", "failed")


@dataclass(frozen=True)
class StatusEvent:
    """One status change of the client under test.

    Attributes:
        state: one of :data:`STATES`.
        text: the status line a user would see.
        at: ``time.monotonic()`` when it happened.
    """

    state: str
    text: str = ""
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Answer:
    """What a query returned.

    Attributes:
        query_id: the ``query_id`` the answer carries.
        transport: ``websocket`` or ``rest``: the transport that delivered it.
        answer: the back end's answer.
        sent_id: the ``query_id`` the client sent, when it chose its own instead of the one the
            runner passed; None = it used the runner's.
    """

    query_id: str
    transport: str
    answer: Mapping[str, Any] = field(default_factory=dict)
    sent_id: str | None = None


@dataclass(frozen=True)
class ClientSettings:
    """Everything a factory needs to build a client for one scenario run.

    Attributes:
        ws_url: the WebSocket API through its proxy, e.g. ``ws://127.0.0.1:41234/prod``.
        rest_url: the REST API's stage base through its proxy, e.g. ``http://127.0.0.1:41235/prod``.
        time_scale: the scenario's time scale N; the client divides its configured durations by it.
        seed: seeds the client's randomness (backoff jitter); None = unseeded.
        registry: a fresh registry for the client's metrics (the runner pools them).
        options: the scenario's ``client:`` overrides, durations in configured seconds,
            ``heartbeat_interval: None`` meaning no heartbeat.
    """

    ws_url: str
    rest_url: str
    time_scale: float = 1.0
    seed: int | None = None
    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )
    options: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class ClientAdapter(Protocol):
    """The small surface the runner drives.

    Every coroutine may raise; the runner records the exception as the step's outcome.
    """

    async def connect(self) -> bool:
        """Open the connection; True once connected, False if it could not be."""
        ...

    async def query(self, text: str, *, query_id: str) -> Answer:
        """Send one query with ``query_id`` and return its answer.

        A client that picks its own ids may ignore ``query_id`` and report the one it sent in
        :attr:`Answer.sent_id`. The back end's executions under ids the runner never saw count
        as duplicated queries (a retry under a fresh id runs the query twice).

        Raises:
            Exception: a clear error when no transport could answer (the query is *errored*).
        """
        ...

    async def reconnect(self) -> None:
        """The manual "Reconnect Now": drop the connection and connect again."""
        ...

    async def close(self) -> None:
        """Close cleanly and release everything; idempotent."""
        ...

    @property
    def status(self) -> str:
        """The current state, one of :data:`STATES`."""
        ...

    def subscribe(self, callback: Callable[[StatusEvent], None]) -> Callable[[], None]:
        """Call ``callback`` on every status change; returns the unsubscribe function."""
        ...


#: Builds one adapter for one scenario run.
ClientFactory = Callable[[ClientSettings], ClientAdapter]


def load_factory(spec: str) -> ClientFactory:
    """Resolve ``module:factory`` (``--client``).

    Raises:
        UserError: malformed, the module cannot be imported, or the name is not a callable.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise UserError(f"--client: {spec!r}: expected module:factory, e.g. {DEFAULT_CLIENT}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(f"--client: {spec!r}: cannot import {module_name!r}: {exc}") from exc
    except Exception as exc:  # the module itself is broken (a SyntaxError, a failing import)
        problem = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise UserError(f"--client: {spec!r}: cannot import {module_name!r}: {problem}") from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UserError(f"--client: {spec!r}: {module_name} has no {attribute!r}") from None
    if not callable(target):
        raise UserError(f"--client: {spec!r}: {attribute!r} is not callable")
    return target  # type: ignore[no-any-return]


# ----------------------------------------------------------------------- the resilient client
class ResilientClientAdapter:
    """:class:`ClientAdapter` over :class:`client.ResilientWebSocketClient`."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._accepts_query_id = "query_id" in inspect.signature(client.send_query).parameters

    async def connect(self) -> bool:
        return bool(await self.client.ensure_connection())

    async def query(self, text: str, *, query_id: str) -> Answer:
        if self._accepts_query_id:
            result = await self.client.send_query(text, query_id=query_id)
            sent_id = None
        else:
            # The client makes its own ids and reports the one it used; a mismatch between the
            # request and the answer could then only be caught by the client itself.
            result = await self.client.send_query(text)
            sent_id = result.query_id
        return Answer(
            query_id=result.query_id,
            transport=result.transport,
            answer=result.answer,
            sent_id=sent_id,
        )

    async def reconnect(self) -> None:
        await self.client.reconnect()

    async def close(self) -> None:
        await self.client.close()

    @property
    def status(self) -> str:
        return str(self.client.status.label)

    def subscribe(self, callback: Callable[[StatusEvent], None]) -> Callable[[], None]:
        def forward(change: Any) -> None:
            callback(
                StatusEvent(
                    state=change.new.label, text=change.text, at=change.at or time.monotonic()
                )
            )

        return self.client.subscribe(forward)  # type: ignore[no-any-return]


def resilient_client(settings: ClientSettings) -> ResilientClientAdapter:
    """The default factory: :class:`client.ResilientWebSocketClient` with the scenario's options."""
    from client import ResilientWebSocketClient

    rng = random.Random(settings.seed) if settings.seed is not None else None
    client = ResilientWebSocketClient(
        settings.ws_url,
        rest_url=settings.rest_url,
        time_scale=settings.time_scale,
        rng=rng,
        registry=settings.registry,
        **dict(settings.options),
    )
    return ResilientClientAdapter(client)
