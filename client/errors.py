"""Exceptions of the ``client`` package, and the one place where connection failures are classified.

Tree::

    ClientError                  root of everything ``client`` raises
    ├── InvalidOptions           a constructor argument is invalid (also a ValueError)
    ├── QueryFailed              send_query ended without an answer; names both transports' errors
    │   └── QueryTooLarge        over 128 KB: refused before anything was sent
    └── TransportError           one transport could not deliver an answer (its text ends up in
        │                        QueryFailed; send_query never lets it escape)
        ├── AnswerTimeout        no answer within the budget
        ├── ConnectionLost       the socket went away with the query pending
        └── BackendError         the back end answered with an error

A failed opening handshake is not an exception of this package: the shell turns whatever
``websockets`` raised into a :class:`ConnectFailure` (:func:`describe_failure`) and the state
machine asks :func:`classify` what to do about it: retry, back off longer, or give up.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from websockets.exceptions import InvalidStatus

__all__ = [
    "AnswerTimeout",
    "BackendError",
    "ClientError",
    "ConnectFailure",
    "ConnectionLost",
    "FailureKind",
    "InvalidOptions",
    "QueryFailed",
    "QueryTooLarge",
    "TransportError",
    "Verdict",
    "classify",
    "describe_failure",
]


class ClientError(Exception):
    """Root of every exception raised by ``client``."""


class InvalidOptions(ClientError, ValueError):
    """A constructor argument is invalid.

    Attributes:
        option: the argument's name, e.g. ``"pong_timeout"``.
        value: the value that was given.
        problem: what is wrong with it.
    """

    def __init__(self, option: str, value: object, problem: str) -> None:
        super().__init__(f"{option}: {value!r}: {problem}")
        self.option = option
        self.value = value
        self.problem = problem


class QueryFailed(ClientError):
    """A query got no answer on either transport.

    Attributes:
        query_id: the id the query was sent with (the same on both transports).
        websocket_error: why the WebSocket did not answer (None: it was not tried).
        rest_error: why the REST API did not answer (None: it was not tried).
    """

    def __init__(
        self, query_id: str, *, websocket_error: str | None, rest_error: str | None
    ) -> None:
        self.query_id = query_id
        self.websocket_error = websocket_error
        self.rest_error = rest_error
        super().__init__(str(self))

    def __str__(self) -> str:
        ws = self.websocket_error or "not tried"
        rest = self.rest_error or "not tried"
        return f"query {self.query_id} failed: websocket: {ws}; rest: {rest}"


class QueryTooLarge(QueryFailed):
    """The query message is over API Gateway's 128 KB message limit; nothing was sent.

    Attributes:
        size: the encoded message size in bytes.
        limit: the limit in bytes.
    """

    def __init__(self, query_id: str, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        reason = f"message of {size} bytes is over the {limit}-byte limit; refused before sending"
        super().__init__(query_id, websocket_error=reason, rest_error="not tried: " + reason)


class TransportError(ClientError):
    """One transport could not deliver an answer.

    Attributes:
        transport: ``"websocket"`` or ``"rest"``.
        detail: what happened, for a person.
    """

    def __init__(self, transport: str, detail: str) -> None:
        super().__init__(detail)
        self.transport = transport
        self.detail = detail


class AnswerTimeout(TransportError):
    """No answer arrived within the budget."""


class ConnectionLost(TransportError):
    """The connection went away while the query waited for its answer."""


class BackendError(TransportError):
    """The back end answered the query with an error (not a transport fault)."""


class FailureKind(enum.StrEnum):
    """How an opening handshake failed; the values are the metric's ``outcome`` labels."""

    REFUSED = "refused"  # no TCP connection, or it dropped before a valid HTTP answer
    REJECTED = "rejected"  # the server answered the upgrade with an HTTP status other than 101
    TIMEOUT = "timeout"  # no answer within the open budget


@dataclass(frozen=True)
class ConnectFailure:
    """A failed connection attempt, reduced to what the policy needs.

    Attributes:
        kind: refused, rejected or timed out.
        status: the HTTP status of a rejection (None otherwise).
        detail: the underlying error, for logs and QueryFailed.
    """

    kind: FailureKind
    status: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        if self.kind is FailureKind.REJECTED:
            return f"handshake rejected with HTTP {self.status}"
        if self.kind is FailureKind.TIMEOUT:
            return "handshake timed out"
        return f"connection refused ({self.detail})" if self.detail else "connection refused"


class Verdict(enum.Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"  # the next attempt after the usual jittered backoff
    BACK_OFF_LONGER = "back off longer"  # throttled: a longer, never-near-zero backoff
    GIVE_UP = "give up"  # retrying cannot help: FAILED at once


#: Statuses that retrying cannot fix: the credentials will not fix themselves (API Gateway answers
#: 401 for "Unauthorized" or a missing identity source, 403 for Deny; fact sheet §1.2).
_GIVE_UP_STATUSES = frozenset({401, 403})
#: Throttling: more than 500 new connections per second (fact sheet §3).
_THROTTLED_STATUSES = frozenset({429})


def classify(failure: ConnectFailure) -> Verdict:
    """The one policy mapping a failed attempt to retry, back off longer, or give up."""
    if failure.kind is FailureKind.REJECTED:
        if failure.status in _GIVE_UP_STATUSES:
            return Verdict.GIVE_UP
        if failure.status in _THROTTLED_STATUSES:
            return Verdict.BACK_OFF_LONGER
    return Verdict.RETRY


def describe_failure(exc: BaseException) -> ConnectFailure:
    """Reduce whatever opening a connection raised to a :class:`ConnectFailure`.

    Timeouts are ``TimeoutError`` (the open budget), rejections are ``websockets``'
    ``InvalidStatus`` (an HTTP answer other than 101); everything else (refused port, reset, a
    server that hung up mid-handshake, a TLS failure) counts as refused.
    """
    if isinstance(exc, TimeoutError):
        return ConnectFailure(FailureKind.TIMEOUT, detail="no handshake within the open timeout")
    if isinstance(exc, InvalidStatus):
        return ConnectFailure(
            FailureKind.REJECTED, status=exc.response.status_code, detail=str(exc)
        )
    return ConnectFailure(FailureKind.REFUSED, detail=str(exc) or type(exc).__name__)
