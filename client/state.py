"""The client's connection state machine, without I/O: events in, actions out, no awaits.

The asyncio shell (:mod:`client.client`) owns sockets and timers. It feeds every occurrence to
:meth:`ConnectionMachine.handle` as an event and carries out the actions it gets back, in order.
The machine never sleeps, never reads a clock and never touches a socket, so every row of the
state table (design §7) is tested by feeding events.

State table::

    state                    event                           next state, actions
    any (socket open)        SocketClosed(clean=True)        DISCONNECTED; reconnect lazily
    CONNECTED                SocketClosed(clean=False),      RECONNECTING 1/n at once, in the
                             PongMissed, QueryTimedOut       background (DropSocket, OpenSocket)
    CONNECTING/RECONNECTING  AttemptFailed, retryable        same state; ScheduleRetry(backoff)
                             RetryDue                        RECONNECTING k+1; OpenSocket
                             AttemptFailed, last attempt     FAILED
                             AttemptFailed, 401/403          FAILED at once, no retry
                             Opened                          CONNECTED
    DISCONNECTED/FAILED      ConnectRequested (a query)      CONNECTING (attempt 1); OpenSocket
    any                      ReconnectRequested (manual)     CONNECTING; counter reset; DropSocket,
                                                             OpenSocket
    any                      CloseRequested                  DISCONNECTED; DropSocket

Every action that starts I/O carries a *token*; events coming back from that I/O carry it too.
Each new attempt, backoff timer or drop makes the previous token stale, and events with a stale
token are ignored: a socket that was replaced cannot disturb its successor.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

from client.backoff import Backoff
from client.errors import ConnectFailure, Verdict, classify

__all__ = [
    "Action",
    "AttemptFailed",
    "CloseRequested",
    "ConnectRequested",
    "ConnectionMachine",
    "ConnectionState",
    "CountReconnect",
    "DropSocket",
    "Event",
    "OpenSocket",
    "Opened",
    "PongMissed",
    "QueryTimedOut",
    "ReconnectRequested",
    "ReconnectTrigger",
    "RetryDue",
    "ScheduleRetry",
    "SocketClosed",
    "StatusChange",
    "status_text",
]

logger = logging.getLogger(__name__)


class ConnectionState(enum.IntEnum):
    """The five states of design §7. ``label`` is the metric label (``connected``, ...)."""

    DISCONNECTED = 0
    CONNECTING = 1
    RECONNECTING = 2
    CONNECTED = 3
    FAILED = 4

    @property
    def label(self) -> str:
        """Lower-case name, as in the ``wschaos_client_state{state=...}`` metric."""
        return self.name.lower()


def status_text(state: ConnectionState, attempt: int = 0, max_attempts: int = 3) -> str:
    """The seed's status line for ``state`` (``attempt`` of ``max_attempts`` when reconnecting)."""
    if state is ConnectionState.CONNECTED:
        return "WebSocket: Connected - Real-time updates active"
    if state is ConnectionState.CONNECTING:
        return "WebSocket: Connecting..."
    if state is ConnectionState.RECONNECTING:
        return f"WebSocket: Reconnecting ({attempt}/{max_attempts})..."
    if state is ConnectionState.DISCONNECTED:
        return "WebSocket: Disconnected - Will auto-reconnect on next query"
    return "WebSocket: Connection failed - Using REST API fallback"


class ReconnectTrigger(enum.StrEnum):
    """Why a reconnect began; the values are the metric's ``trigger`` labels."""

    UNCLEAN_CLOSE = "unclean_close"  # socket lost without a close frame
    PONG_TIMEOUT = "pong_timeout"  # the heartbeat's pong missed its deadline
    QUERY = "query"  # a query found the connection gone, or timed out on it
    MANUAL = "manual"  # reconnect() ("Reconnect Now")


@dataclass(frozen=True)
class StatusChange:
    """One status change, as subscribers receive it.

    Attributes:
        old: the state before.
        new: the state after (may equal ``old`` when only the attempt number changed).
        attempt: the attempt in progress when ``new`` is CONNECTING/RECONNECTING, else 0.
        max_attempts: the configured maximum (the "3" of "Reconnecting (1/3)").
        reason: why it changed, for a person.
        at: ``time.monotonic()`` when the client applied it (0.0 until the shell stamps it).
    """

    old: ConnectionState
    new: ConnectionState
    attempt: int
    max_attempts: int
    reason: str
    at: float = 0.0

    @property
    def text(self) -> str:
        """The seed's status line for the new state."""
        return status_text(self.new, self.attempt, self.max_attempts)


# Events ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectRequested:
    """A query (or ``ensure_connection``) needs the connection; acts only when none is underway."""

    trigger: ReconnectTrigger = ReconnectTrigger.QUERY


@dataclass(frozen=True)
class ReconnectRequested:
    """``reconnect()``: drop whatever there is and start over with a fresh counter."""


@dataclass(frozen=True)
class CloseRequested:
    """``close()``: drop whatever there is and stay DISCONNECTED."""


@dataclass(frozen=True)
class Opened:
    """The attempt with ``token`` completed its handshake."""

    token: int


@dataclass(frozen=True)
class AttemptFailed:
    """The attempt with ``token`` failed."""

    token: int
    failure: ConnectFailure


@dataclass(frozen=True)
class RetryDue:
    """The backoff timer with ``token`` expired."""

    token: int


@dataclass(frozen=True)
class SocketClosed:
    """The socket opened by ``token`` closed.

    Attributes:
        clean: a close frame was received (any code: 1000, 1001, 1009, ...); False when the TCP
            connection went away without one (what a client reports as 1006).
    """

    token: int
    clean: bool
    code: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class PongMissed:
    """The heartbeat on the socket opened by ``token`` got no pong within its deadline."""

    token: int


@dataclass(frozen=True)
class QueryTimedOut:
    """A query on the socket opened by ``token`` got no result within ``query_timeout``."""

    token: int


Event = (
    ConnectRequested
    | ReconnectRequested
    | CloseRequested
    | Opened
    | AttemptFailed
    | RetryDue
    | SocketClosed
    | PongMissed
    | QueryTimedOut
)


# Actions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenSocket:
    """Start connection attempt number ``attempt``; report back with ``token``."""

    token: int
    attempt: int


@dataclass(frozen=True)
class ScheduleRetry:
    """Wait ``delay`` configured seconds (time scale not applied), then report ``RetryDue(token)``.

    Attributes:
        failure: the failure that caused the wait, for logs.
    """

    token: int
    delay: float
    failure: ConnectFailure


@dataclass(frozen=True)
class DropSocket:
    """Abandon the current socket and any attempt or timer in progress.

    Attributes:
        graceful: send a close frame (the peer may still be there) rather than drop TCP at once
            (the peer is presumed gone: a missed pong, a lost query).
        reason: why, for logs and for the queries that were waiting on the socket.
    """

    graceful: bool
    reason: str


@dataclass(frozen=True)
class CountReconnect:
    """A reconnect began (for ``wschaos_client_reconnects_total`` and the reconnect timer)."""

    trigger: ReconnectTrigger


Action = OpenSocket | ScheduleRetry | DropSocket | CountReconnect | StatusChange


@dataclass
class ConnectionMachine:
    """The state machine of design §7.

    Args:
        max_attempts: connection attempts per reconnect sequence (at least 1).
        backoff: the delay policy between attempts.

    The machine starts DISCONNECTED. ``handle`` returns the actions to carry out, in order;
    :class:`StatusChange` actions are the status changes subscribers see.
    """

    max_attempts: int
    backoff: Backoff
    _state: ConnectionState = field(default=ConnectionState.DISCONNECTED, init=False)
    _attempt: int = field(default=0, init=False)
    _token: int = field(default=0, init=False)
    _ever_connected: bool = field(default=False, init=False)
    _actions: list[Action] = field(default_factory=list, init=False)

    @property
    def state(self) -> ConnectionState:
        """The current state."""
        return self._state

    @property
    def attempt(self) -> int:
        """The attempt in progress (CONNECTING/RECONNECTING), else 0."""
        return self._attempt

    @property
    def token(self) -> int:
        """The token of the current attempt, timer or socket; older tokens are stale."""
        return self._token

    @property
    def text(self) -> str:
        """The seed's status line for the current state."""
        return status_text(self._state, self._attempt, self.max_attempts)

    def handle(self, event: Event) -> list[Action]:
        """Apply one event; return the actions the shell must carry out, in order."""
        self._actions = []
        match event:
            case ConnectRequested(trigger=trigger):
                self._on_connect_requested(trigger)
            case ReconnectRequested():
                self._on_reconnect_requested()
            case CloseRequested():
                self._on_close_requested()
            case Opened(token=token) if self._current(token) and self._connecting:
                self._enter(ConnectionState.CONNECTED, 0, "handshake completed")
                self._ever_connected = True
            case AttemptFailed(token=token, failure=failure) if (
                self._current(token) and self._connecting
            ):
                self._on_attempt_failed(failure)
            case RetryDue(token=token) if self._current(token) and self._connecting:
                self._open(
                    ConnectionState.RECONNECTING, self._attempt + 1, "retrying after backoff"
                )
            case SocketClosed(token=token, clean=clean, code=code, reason=reason) if (
                self._current(token) and self._state is ConnectionState.CONNECTED
            ):
                self._on_socket_closed(clean, code, reason)
            case PongMissed(token=token) if (
                self._current(token) and self._state is ConnectionState.CONNECTED
            ):
                self._reconnect_in_background(ReconnectTrigger.PONG_TIMEOUT, "pong missed")
            case QueryTimedOut(token=token) if (
                self._current(token) and self._state is ConnectionState.CONNECTED
            ):
                self._reconnect_in_background(ReconnectTrigger.QUERY, "query got no result")
            case _:
                logger.debug("ignored %s in %s (token %d)", event, self._state.name, self._token)
        return self._actions

    # Transitions -------------------------------------------------------------------------------

    @property
    def _connecting(self) -> bool:
        return self._state in (ConnectionState.CONNECTING, ConnectionState.RECONNECTING)

    def _current(self, token: int) -> bool:
        return token == self._token

    def _on_connect_requested(self, trigger: ReconnectTrigger) -> None:
        if self._state not in (ConnectionState.DISCONNECTED, ConnectionState.FAILED):
            return  # connected, or a sequence is underway: the caller waits for it (single flight)
        if self._ever_connected:
            self._actions.append(CountReconnect(trigger))
        self._open(ConnectionState.CONNECTING, 1, "a query needs the connection")

    def _on_reconnect_requested(self) -> None:
        self._drop(graceful=True, reason="manual reconnect")
        self._actions.append(CountReconnect(ReconnectTrigger.MANUAL))
        self._open(ConnectionState.CONNECTING, 1, "manual reconnect")

    def _on_close_requested(self) -> None:
        self._drop(graceful=True, reason="closed by the client")
        self._enter(ConnectionState.DISCONNECTED, 0, "closed by the client")

    def _on_attempt_failed(self, failure: ConnectFailure) -> None:
        verdict = classify(failure)
        if verdict is Verdict.GIVE_UP:
            self._enter(ConnectionState.FAILED, 0, f"{failure}: not retried")
        elif self._attempt >= self.max_attempts:
            self._enter(
                ConnectionState.FAILED, 0, f"{failure}: attempt {self._attempt} was the last"
            )
        else:
            self._token += 1
            delay = self.backoff.delay(self._attempt, longer=verdict is Verdict.BACK_OFF_LONGER)
            self._actions.append(ScheduleRetry(self._token, delay, failure))

    def _on_socket_closed(self, clean: bool, code: int | None, reason: str) -> None:
        if clean:
            self._drop(graceful=False, reason=f"closed by the server ({code} {reason!r})")
            self._enter(ConnectionState.DISCONNECTED, 0, f"close frame {code} {reason!r}")
        else:
            self._reconnect_in_background(
                ReconnectTrigger.UNCLEAN_CLOSE, "connection lost without a close frame"
            )

    def _reconnect_in_background(self, trigger: ReconnectTrigger, reason: str) -> None:
        self._drop(graceful=False, reason=reason)
        self._actions.append(CountReconnect(trigger))
        self._open(ConnectionState.RECONNECTING, 1, reason)

    # Helpers -----------------------------------------------------------------------------------

    def _open(self, state: ConnectionState, attempt: int, reason: str) -> None:
        self._token += 1
        self._enter(state, attempt, reason)
        self._actions.append(OpenSocket(self._token, attempt))

    def _drop(self, *, graceful: bool, reason: str) -> None:
        self._token += 1
        self._actions.append(DropSocket(graceful=graceful, reason=reason))

    def _enter(self, state: ConnectionState, attempt: int, reason: str) -> None:
        """The logging setter: every change of state or attempt is logged and reported once."""
        old = self._state
        if state is old and attempt == self._attempt:
            return
        self._state, self._attempt = state, attempt
        change = StatusChange(old, state, attempt, self.max_attempts, reason)
        logger.info("%s -> %s: %s (%s)", old.name, state.name, change.text, reason)
        self._actions.append(change)
