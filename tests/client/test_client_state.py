"""The connection state machine, row by row (design §7), fed events only: no sockets, no clock."""

from __future__ import annotations

import random

import pytest

from client.backoff import FullJitterBackoff
from client.errors import ConnectFailure, FailureKind
from client.state import (
    AttemptFailed,
    CloseRequested,
    ConnectionMachine,
    ConnectionState,
    ConnectRequested,
    CountReconnect,
    DropSocket,
    Opened,
    OpenSocket,
    PongMissed,
    QueryTimedOut,
    ReconnectRequested,
    ReconnectTrigger,
    RetryDue,
    ScheduleRetry,
    SocketClosed,
    StatusChange,
    status_text,
)

S = ConnectionState
REFUSED = ConnectFailure(FailureKind.REFUSED, detail="connection refused")
TIMEOUT = ConnectFailure(FailureKind.TIMEOUT)


def rejected(status: int) -> ConnectFailure:
    return ConnectFailure(FailureKind.REJECTED, status=status)


class RecordingBackoff:
    """A delay policy that answers 0.5 s (2 s when asked for longer) and records each request."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bool]] = []

    def delay(self, attempt: int, *, longer: bool = False) -> float:
        self.calls.append((attempt, longer))
        return 2.0 if longer else 0.5


def machine(max_attempts: int = 3) -> tuple[ConnectionMachine, RecordingBackoff]:
    backoff = RecordingBackoff()
    return ConnectionMachine(max_attempts, backoff), backoff


def changes(actions: list) -> list[tuple[S, S, str]]:
    return [(a.old, a.new, a.text) for a in actions if isinstance(a, StatusChange)]


def opened(m: ConnectionMachine) -> int:
    """Drive a fresh machine to CONNECTED through a query; return the socket's token."""
    actions = m.handle(ConnectRequested())
    (open_socket,) = [a for a in actions if isinstance(a, OpenSocket)]
    m.handle(Opened(open_socket.token))
    assert m.state is S.CONNECTED
    return open_socket.token


def test_status_texts_are_the_seeds():
    assert status_text(S.CONNECTED) == "WebSocket: Connected - Real-time updates active"
    assert status_text(S.CONNECTING) == "WebSocket: Connecting..."
    assert status_text(S.RECONNECTING, 1, 3) == "WebSocket: Reconnecting (1/3)..."
    assert status_text(S.DISCONNECTED) == (
        "WebSocket: Disconnected - Will auto-reconnect on next query"
    )
    assert status_text(S.FAILED) == "WebSocket: Connection failed - Using REST API fallback"
    assert [s.label for s in S] == [
        "disconnected",
        "connecting",
        "reconnecting",
        "connected",
        "failed",
    ]


def test_starts_disconnected_and_a_query_connects_without_counting_a_reconnect():
    m, _ = machine()
    assert m.state is S.DISCONNECTED
    actions = m.handle(ConnectRequested())
    assert changes(actions) == [(S.DISCONNECTED, S.CONNECTING, "WebSocket: Connecting...")]
    assert actions[-1] == OpenSocket(m.token, 1)
    assert not any(isinstance(a, CountReconnect) for a in actions)
    actions = m.handle(Opened(m.token))
    assert changes(actions) == [(S.CONNECTING, S.CONNECTED, status_text(S.CONNECTED))]


def test_connect_requested_is_single_flight():
    m, _ = machine()
    m.handle(ConnectRequested())
    token = m.token
    assert m.handle(ConnectRequested()) == []  # the second caller waits for the same attempt
    assert m.token == token
    m.handle(Opened(token))
    assert m.handle(ConnectRequested()) == []  # connected: nothing to do


@pytest.mark.parametrize("code", [1000, 1001, 1009, 1003])
def test_row_close_frame_goes_disconnected_and_reconnects_lazily(code):
    m, _ = machine()
    token = opened(m)
    actions = m.handle(SocketClosed(token, clean=True, code=code, reason="Going away"))
    assert changes(actions) == [(S.CONNECTED, S.DISCONNECTED, status_text(S.DISCONNECTED))]
    assert not any(isinstance(a, OpenSocket) for a in actions)  # lazily: nothing until a query
    # The next query reconnects, and that counts as a reconnect triggered by a query.
    actions = m.handle(ConnectRequested())
    assert CountReconnect(ReconnectTrigger.QUERY) in actions
    assert changes(actions) == [(S.DISCONNECTED, S.CONNECTING, "WebSocket: Connecting...")]


@pytest.mark.parametrize(
    ("event", "trigger"),
    [
        (lambda t: SocketClosed(t, clean=False), ReconnectTrigger.UNCLEAN_CLOSE),
        (PongMissed, ReconnectTrigger.PONG_TIMEOUT),
        (QueryTimedOut, ReconnectTrigger.QUERY),
    ],
)
def test_row_unclean_loss_reconnects_at_once_in_the_background(event, trigger):
    m, _ = machine()
    token = opened(m)
    actions = m.handle(event(token))
    assert isinstance(actions[0], DropSocket)
    assert actions[0].graceful is False  # the peer is presumed gone: no close handshake
    assert CountReconnect(trigger) in actions
    assert changes(actions) == [(S.CONNECTED, S.RECONNECTING, "WebSocket: Reconnecting (1/3)...")]
    assert actions[-1] == OpenSocket(m.token, 1)


def test_row_attempt_failures_back_off_then_fail_after_the_last():
    m, backoff = machine()
    token = opened(m)
    m.handle(SocketClosed(token, clean=False))
    seen = []
    for attempt in (1, 2):
        actions = m.handle(AttemptFailed(m.token, REFUSED))
        assert actions == [ScheduleRetry(m.token, 0.5, REFUSED)]  # status unchanged while waiting
        actions = m.handle(RetryDue(m.token))
        seen += changes(actions)
        assert actions[-1] == OpenSocket(m.token, attempt + 1)
    actions = m.handle(AttemptFailed(m.token, TIMEOUT))
    seen += changes(actions)
    assert seen == [
        (S.RECONNECTING, S.RECONNECTING, "WebSocket: Reconnecting (2/3)..."),
        (S.RECONNECTING, S.RECONNECTING, "WebSocket: Reconnecting (3/3)..."),
        (S.RECONNECTING, S.FAILED, status_text(S.FAILED)),
    ]
    assert backoff.calls == [(1, False), (2, False)]
    assert not any(isinstance(a, (OpenSocket, ScheduleRetry)) for a in actions)


def test_row_429_backs_off_longer_and_5xx_retries_normally():
    m, backoff = machine()
    m.handle(ConnectRequested())
    assert m.handle(AttemptFailed(m.token, rejected(429))) == [
        ScheduleRetry(m.token, 2.0, rejected(429))
    ]
    m.handle(RetryDue(m.token))
    assert m.handle(AttemptFailed(m.token, rejected(503)))[0].delay == 0.5
    assert backoff.calls == [(1, True), (2, False)]


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("via_background", [False, True])
def test_row_401_403_fail_at_once_without_retry(status, via_background):
    m, backoff = machine()
    if via_background:
        m.handle(SocketClosed(opened(m), clean=False))
        assert m.state is S.RECONNECTING
    else:
        m.handle(ConnectRequested())
        assert m.state is S.CONNECTING
    old = m.state
    actions = m.handle(AttemptFailed(m.token, rejected(status)))
    assert changes(actions) == [(old, S.FAILED, status_text(S.FAILED))]
    assert backoff.calls == []
    assert not any(isinstance(a, (OpenSocket, ScheduleRetry)) for a in actions)


@pytest.mark.parametrize("start", [S.DISCONNECTED, S.FAILED])
def test_row_query_from_disconnected_or_failed_connects_then_reconnects(start):
    m, _ = machine()
    if start is S.FAILED:
        m.handle(ConnectRequested())
        m.handle(AttemptFailed(m.token, rejected(401)))
    assert m.state is start
    seen = changes(m.handle(ConnectRequested()))
    m.handle(AttemptFailed(m.token, REFUSED))
    seen += changes(m.handle(RetryDue(m.token)))
    m.handle(AttemptFailed(m.token, REFUSED))
    seen += changes(m.handle(RetryDue(m.token)))
    seen += changes(m.handle(Opened(m.token)))
    assert [text for _, _, text in seen] == [
        "WebSocket: Connecting...",
        "WebSocket: Reconnecting (2/3)...",
        "WebSocket: Reconnecting (3/3)...",
        status_text(S.CONNECTED),
    ]


@pytest.mark.parametrize("phase", ["connected", "attempt", "backoff", "failed", "disconnected"])
def test_row_manual_reconnect_drops_resets_and_connects_at_once(phase):
    m, _ = machine()
    if phase == "connected":
        opened(m)
    elif phase in ("attempt", "backoff"):
        m.handle(SocketClosed(opened(m), clean=False))
        m.handle(AttemptFailed(m.token, REFUSED))
        m.handle(RetryDue(m.token))  # RECONNECTING 2/3, attempt in flight
        if phase == "backoff":
            m.handle(AttemptFailed(m.token, REFUSED))  # waiting for 3/3
    elif phase == "failed":
        m.handle(ConnectRequested())
        m.handle(AttemptFailed(m.token, rejected(403)))
    stale = m.token
    actions = m.handle(ReconnectRequested())
    assert isinstance(actions[0], DropSocket) and actions[0].graceful
    assert CountReconnect(ReconnectTrigger.MANUAL) in actions
    assert actions[-1] == OpenSocket(m.token, 1)  # the counter starts again at 1
    assert m.state is S.CONNECTING and m.attempt == 1
    # Whatever the old attempt, timer or socket still reports is ignored.
    for late in (Opened(stale), AttemptFailed(stale, REFUSED), RetryDue(stale)):
        assert m.handle(late) == []
    assert m.state is S.CONNECTING and m.attempt == 1


def test_manual_reconnect_counter_reset_allows_a_full_new_sequence():
    m, _ = machine(max_attempts=2)
    m.handle(SocketClosed(opened(m), clean=False))
    m.handle(AttemptFailed(m.token, REFUSED))
    m.handle(RetryDue(m.token))
    assert m.text == "WebSocket: Reconnecting (2/2)..."
    m.handle(ReconnectRequested())
    m.handle(AttemptFailed(m.token, REFUSED))
    assert m.state is S.CONNECTING  # not FAILED: attempt 1 of a fresh sequence of 2
    m.handle(RetryDue(m.token))
    assert m.text == "WebSocket: Reconnecting (2/2)..."


def test_stale_socket_events_never_disturb_the_new_connection():
    m, _ = machine()
    first = opened(m)
    m.handle(SocketClosed(first, clean=False))
    m.handle(Opened(m.token))
    assert m.state is S.CONNECTED
    for late in (
        SocketClosed(first, clean=True, code=1000),
        PongMissed(first),
        QueryTimedOut(first),
    ):
        assert m.handle(late) == []
    assert m.state is S.CONNECTED


def test_close_requested_goes_disconnected_from_anywhere_and_cancels_attempts():
    m, _ = machine()
    m.handle(SocketClosed(opened(m), clean=False))
    token = m.token
    actions = m.handle(CloseRequested())
    assert isinstance(actions[0], DropSocket) and actions[0].graceful
    assert changes(actions) == [(S.RECONNECTING, S.DISCONNECTED, status_text(S.DISCONNECTED))]
    assert m.handle(Opened(token)) == []
    assert m.state is S.DISCONNECTED


def test_events_that_do_not_apply_are_ignored():
    m, _ = machine()
    assert m.handle(SocketClosed(0, clean=False)) == []
    assert m.handle(PongMissed(0)) == []
    m.handle(ConnectRequested())
    assert m.handle(PongMissed(m.token)) == []  # no pong to miss while connecting
    assert m.state is S.CONNECTING


def test_status_changes_carry_reason_and_attempts():
    m, _ = machine(max_attempts=5)
    token = opened(m)
    (change,) = [a for a in m.handle(PongMissed(token)) if isinstance(a, StatusChange)]
    assert change.attempt == 1 and change.max_attempts == 5
    assert change.text == "WebSocket: Reconnecting (1/5)..."
    assert "pong" in change.reason


def test_real_backoff_policy_plugs_in():
    m = ConnectionMachine(3, FullJitterBackoff(1.0, 10.0, random.Random(7)))
    m.handle(ConnectRequested())
    (retry,) = m.handle(AttemptFailed(m.token, REFUSED))
    assert 0.0 <= retry.delay <= 1.0
    assert retry.delay == random.Random(7).uniform(0.0, 1.0)
