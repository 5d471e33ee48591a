"""What the gateway answers, worded as AWS words it, without I/O (spec §1.1, §2.2, §2.3).

- :func:`error_frame`: the text frames API Gateway sends when a message fails (no route, the
  integration failed or timed out); the connection stays open.
- :func:`connect_verdict`: what a ``$connect`` Lambda proxy result does to the held handshake.
- :func:`route_response`: what a two-way route sends back.
- :data:`STATUS_MESSAGES`: the ``{"message": ...}`` bodies of handshake rejections.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["STATUS_MESSAGES", "ConnectVerdict", "connect_verdict", "error_frame", "route_response"]

#: Bodies of handshake rejections the gateway itself decides (not ``$connect``'s own statuses,
#: whose bodies AWS throws away).
STATUS_MESSAGES: Mapping[int, str] = {
    401: "Unauthorized",
    403: "Forbidden",
    429: "Too Many Requests",
    500: "Internal server error",
    502: "Internal server error",
    503: "Service Unavailable",
    504: "Endpoint request timed out",
}


def error_frame(message: str, connection_id: str, request_id: str) -> str:
    """An API Gateway error frame, byte for byte as AWS sends it (spec §2.2).

    The spacing is AWS's: a space after the first colon only.
    """
    return (
        f'{{"message": "{message}", "connectionId":"{connection_id}", "requestId":"{request_id}"}}'
    )


@dataclass(frozen=True)
class ConnectVerdict:
    """What a ``$connect`` result does to the handshake.

    Attributes:
        status: 101 to upgrade; otherwise the HTTP status to answer with.
        subprotocol: the ``Sec-WebSocket-Protocol`` to select (101 only), or None.
        malformed: the result is no proxy result (502); worth reporting as an integration error.
    """

    status: int
    subprotocol: str | None = None
    malformed: bool = False


def connect_verdict(result: object) -> ConnectVerdict:
    """Interpret a ``$connect`` Lambda proxy result (spec §1.1, §7).

    Any 2xx ``statusCode`` upgrades, and only a ``Sec-WebSocket-Protocol`` response header selects
    a subprotocol; any other status in 300-599 is answered as is (the body is thrown away). A
    handler returning nothing is taken as a 200. Anything else (no integer ``statusCode``, or one
    no HTTP response can carry, such as a 1xx posing as an upgrade) is a 502, as for a failed
    integration.
    """
    if result is None:
        return ConnectVerdict(101)
    status = result.get("statusCode") if isinstance(result, dict) else None
    if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
        return ConnectVerdict(502, malformed=True)
    if not 200 <= status < 300:
        return ConnectVerdict(status)
    assert isinstance(result, dict)
    headers = result.get("headers")
    protocol = None
    if isinstance(headers, dict):
        protocol = next(
            (str(v) for k, v in headers.items() if str(k).lower() == "sec-websocket-protocol"),
            None,
        )
    return ConnectVerdict(101, subprotocol=protocol)


def route_response(result: object) -> str | None:
    """The message a two-way route sends back: the proxy result's ``body`` (spec §2.3).

    The ``statusCode`` does not matter. A body that is not a string is sent as JSON.

    Returns:
        The text to send, or None when the result has no body (nothing is sent).
    """
    if not isinstance(result, dict):
        return None
    body = result.get("body")
    if body is None:
        return None
    return body if isinstance(body, str) else json.dumps(body)
