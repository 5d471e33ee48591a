"""The sample API's message shapes (design §6), API Gateway's size limits, and the query result.

Outgoing: ``{"action":"finops_query","query_id":Q,"query":text}`` and the heartbeat
``{"action":"ping","timestamp":T}``. Incoming frames are parsed into small typed values by
:func:`parse_frame`; anything it does not recognise (AWS error frames, malformed JSON, unknown
shapes) comes back as :class:`GatewayError` or :class:`Unknown` for the shell to log and ignore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "FRAME_LIMIT",
    "MESSAGE_LIMIT",
    "Frame",
    "GatewayError",
    "Pong",
    "Progress",
    "QueryError",
    "QueryResult",
    "Result",
    "Unknown",
    "encode",
    "fragments",
    "parse_frame",
    "ping_message",
    "query_message",
    "rest_body",
]

#: API Gateway's frame size limit in bytes: larger frames close the connection with 1009
#: (fact sheet §3, "Frame size 32 KB"), so longer messages go out as fragments.
FRAME_LIMIT = 32 * 1024
#: API Gateway's message payload limit in bytes (fact sheet §3, "Message payload 128 KB").
MESSAGE_LIMIT = 128 * 1024

Transport = Literal["websocket", "rest"]


@dataclass(frozen=True)
class QueryResult:
    """The answer to one ``send_query``.

    Attributes:
        query_id: the id the query was sent with (the same on both transports).
        transport: which transport delivered the answer.
        answer: the back end's answer object.
        reconnects: connection attempts the query waited for before it was sent (0 when it found
            the connection up).
        latency: real seconds from the call to the answer.
    """

    query_id: str
    transport: Transport
    answer: dict[str, Any]
    reconnects: int
    latency: float


def encode(message: dict[str, Any]) -> str:
    """Compact JSON text, non-ASCII kept as is (sizes are counted in UTF-8 bytes)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def query_message(query_id: str, text: str) -> str:
    """The WebSocket message asking the back end to run ``text`` as ``query_id``."""
    return encode({"action": "finops_query", "query_id": query_id, "query": text})


def rest_body(query_id: str, text: str) -> dict[str, Any]:
    """The JSON body of ``POST {rest_url}/query`` (the same ``query_id`` as over WebSocket)."""
    return {"query_id": query_id, "query": text}


def ping_message(timestamp: int) -> str:
    """The application heartbeat; the sample API answers ``{"action":"pong","timestamp":T}``."""
    return encode({"action": "ping", "timestamp": timestamp})


def fragments(text: str, limit: int = FRAME_LIMIT) -> list[str]:
    """Split ``text`` into pieces whose UTF-8 encodings are at most ``limit`` bytes each.

    Pieces end on character boundaries, so each is valid text on its own. Joining them gives
    ``text`` back. A text that fits in one frame is returned as a single piece.
    """
    if limit < 4:
        raise ValueError(f"limit must hold any UTF-8 character (4 bytes), got {limit}")
    data = text.encode("utf-8")
    if len(data) <= limit:
        return [text]
    pieces: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        # Step back over continuation bytes (0b10xxxxxx) so a character is never cut in two.
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        pieces.append(data[start:end].decode("utf-8"))
        start = end
    return pieces


# Incoming frames -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """``{"type":"progress","query_id":Q,"message":...}``: the query is being worked on."""

    query_id: str
    message: str


@dataclass(frozen=True)
class Result:
    """``{"type":"result","query_id":Q,"answer":{...}}``: the answer."""

    query_id: str
    answer: dict[str, Any]


@dataclass(frozen=True)
class QueryError:
    """``{"type":"error","query_id":Q,"message":...}``: the back end could not answer."""

    query_id: str
    message: str


@dataclass(frozen=True)
class Pong:
    """``{"action":"pong","timestamp":T}``: the heartbeat's reply."""

    timestamp: int


@dataclass(frozen=True)
class GatewayError:
    """An API Gateway error frame such as ``{"message": "Forbidden", "connectionId":..., ...}``.

    The connection stays open after one (fact sheet §2.2); the frame names no query.
    """

    message: str
    connection_id: str | None
    request_id: str | None


@dataclass(frozen=True)
class Unknown:
    """A frame that matches no known shape; ``why`` says what is wrong with it."""

    raw: str
    why: str


Frame = Progress | Result | QueryError | Pong | GatewayError | Unknown


def parse_frame(data: str | bytes) -> Frame:
    """Parse one incoming message; never raises."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return Unknown(repr(data[:80]), "binary frame that is not UTF-8")
    try:
        obj = json.loads(data)
    except ValueError:
        return Unknown(data, "not JSON")
    if not isinstance(obj, dict):
        return Unknown(data, "not a JSON object")
    kind = obj.get("type")
    query_id = obj.get("query_id")
    if kind in ("progress", "result", "error") and not isinstance(query_id, str):
        return Unknown(data, f"{kind} frame without a string query_id")
    if kind == "progress":
        return Progress(query_id, _text(obj.get("message")))
    if kind == "result":
        answer = obj.get("answer")
        if not isinstance(answer, dict):
            return Unknown(data, "result frame without an answer object")
        return Result(query_id, answer)
    if kind == "error":
        return QueryError(query_id, _text(obj.get("message")) or "error without a message")
    if obj.get("action") == "pong":
        timestamp = obj.get("timestamp")
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            return Pong(timestamp)
        return Unknown(data, "pong without an integer timestamp")
    if kind is None and "action" not in obj and "message" in obj:
        return GatewayError(
            _text(obj.get("message")),
            _opt_text(obj.get("connectionId")),
            _opt_text(obj.get("requestId")),
        )
    return Unknown(data, "unknown message shape")


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else json.dumps(value)


def _opt_text(value: object) -> str | None:
    return value if isinstance(value, str) else None
