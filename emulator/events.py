"""Lambda proxy events as API Gateway builds them, without I/O (spec §5, §1.2).

Pure functions from what the gateway knows to the event dict a handler receives:
:func:`connect_event`, :func:`message_event` and :func:`disconnect_event` (WebSocket, payload
1.0-like), :func:`authorizer_event` (the ``$connect`` REQUEST authorizer) and :func:`rest_event`
(a REST API proxy event, payload 1.0). Keys appear exactly where AWS puts them: headers only on
CONNECT and DISCONNECT, query maps only on CONNECT with a query string, ``body`` and
``messageId`` only on MESSAGE, ``disconnectStatusCode``/``disconnectReason`` only on DISCONNECT.
Times are epoch milliseconds; ``requestTime`` is CLF in UTC with English month names."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from emulator.ids import ACCOUNT_ID

__all__ = [
    "ClientInfo",
    "authorizer_event",
    "connect_event",
    "disconnect_event",
    "forwarded_headers",
    "message_event",
    "method_arn",
    "multi_map",
    "now_ms",
    "request_time",
    "rest_event",
    "single_map",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_REGION = "us-east-1"

# Client headers left out of the CONNECT event: Connection and Upgrade are stripped (the
# authorizer still sees them), the others are replaced by API Gateway's own values.
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "upgrade",
        "host",
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
        "x-amzn-trace-id",
    }
)

_time_cache: tuple[int, str] = (-1, "")


def request_time(epoch_ms: int) -> str:
    """CLF time as in ``requestTime``: ``19/Feb/2024:07:11:42 +0000`` (locale independent)."""
    global _time_cache
    second = epoch_ms // 1000
    if _time_cache[0] != second:
        t = time.gmtime(second)
        text = (
            f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:"
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
        )
        _time_cache = (second, text)
    return _time_cache[1]


def now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def single_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A header or query map as API Gateway builds it: the last value of each name wins."""
    out: dict[str, str] = {}
    for name, value in pairs:
        out[name] = value
    return out


def multi_map(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """A multi-value header or query map: every value of each name, in order."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


@dataclass(frozen=True)
class ClientInfo:
    """What the gateway learnt about a connection at its handshake.

    Attributes:
        connection_id: the connection's id.
        connected_at: epoch milliseconds of the handshake.
        source_ip: the client's address.
        user_agent: the client's ``User-Agent``, or None when it sent none.
        domain_name: the ``Host`` the client connected to (with its port, locally).
        stage: the API's stage.
        api_id: the API's id.
        authorizer: ``principalId`` and context from the ``$connect`` authorizer, or None.
    """

    connection_id: str
    connected_at: int
    source_ip: str
    user_agent: str | None
    domain_name: str
    stage: str
    api_id: str
    authorizer: Mapping[str, Any] | None = field(default=None)

    @property
    def identity(self) -> dict[str, Any]:
        """``requestContext.identity`` for this client."""
        return {"userAgent": self.user_agent, "sourceIp": self.source_ip}


def _context(
    info: ClientInfo,
    route_key: str,
    event_type: str,
    request_id: str,
    epoch_ms: int,
    *,
    after_route: Mapping[str, Any] | None = None,
    after_direction: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``requestContext`` in AWS's key order; the extras go after ``routeKey`` (and the authorizer
    block) and after ``messageDirection``."""
    context: dict[str, Any] = {"routeKey": route_key}
    if info.authorizer is not None:
        context["authorizer"] = dict(info.authorizer)
    if after_route:
        context.update(after_route)
    context["eventType"] = event_type
    context["extendedRequestId"] = request_id
    context["requestTime"] = request_time(epoch_ms)
    context["messageDirection"] = "IN"
    if after_direction:
        context.update(after_direction)
    context["stage"] = info.stage
    context["connectedAt"] = info.connected_at
    context["requestTimeEpoch"] = epoch_ms
    context["identity"] = info.identity
    context["requestId"] = request_id
    context["domainName"] = info.domain_name
    context["connectionId"] = info.connection_id
    context["apiId"] = info.api_id
    return context


def connect_event(
    info: ClientInfo,
    *,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    request_id: str,
    epoch_ms: int,
) -> dict[str, Any]:
    """The CONNECT event of the ``$connect`` route.

    Args:
        info: the connection.
        headers: the headers as API Gateway forwards them (names as sent, proxy headers added;
            see :func:`forwarded_headers`).
        query: the query string's (name, value) pairs; the query maps appear only if any.
        request_id: a fresh request id.
        epoch_ms: the request time.
    """
    header_pairs = list(headers)
    query_pairs = list(query)
    event: dict[str, Any] = {
        "headers": single_map(header_pairs),
        "multiValueHeaders": multi_map(header_pairs),
    }
    if query_pairs:
        event["queryStringParameters"] = single_map(query_pairs)
        event["multiValueQueryStringParameters"] = multi_map(query_pairs)
    event["requestContext"] = _context(info, "$connect", "CONNECT", request_id, epoch_ms)
    event["isBase64Encoded"] = False
    return event


def message_event(
    info: ClientInfo,
    route_key: str,
    body: str,
    *,
    message_id: str,
    request_id: str,
    epoch_ms: int,
) -> dict[str, Any]:
    """The MESSAGE event of a custom or ``$default`` route (no headers, the raw frame text)."""
    # Built in one literal (same keys and order as _context) since it is made for every message.
    context: dict[str, Any] = {"routeKey": route_key}
    if info.authorizer is not None:
        context["authorizer"] = dict(info.authorizer)
    context.update(
        messageId=message_id,
        eventType="MESSAGE",
        extendedRequestId=request_id,
        requestTime=request_time(epoch_ms),
        messageDirection="IN",
        stage=info.stage,
        connectedAt=info.connected_at,
        requestTimeEpoch=epoch_ms,
        identity={"userAgent": info.user_agent, "sourceIp": info.source_ip},
        requestId=request_id,
        domainName=info.domain_name,
        connectionId=info.connection_id,
        apiId=info.api_id,
    )
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(
    info: ClientInfo,
    *,
    status_code: int,
    reason: str,
    request_id: str,
    epoch_ms: int,
) -> dict[str, Any]:
    """The DISCONNECT event, with AWS's odd empty headers and the close frame's code and reason."""
    headers = [
        ("Host", info.domain_name),
        ("x-api-key", ""),
        ("X-Forwarded-For", ""),
        ("x-restapi", ""),
    ]
    context = _context(
        info,
        "$disconnect",
        "DISCONNECT",
        request_id,
        epoch_ms,
        after_route={"disconnectStatusCode": status_code},
        after_direction={"disconnectReason": reason},
    )
    return {
        "headers": single_map(headers),
        "multiValueHeaders": multi_map(headers),
        "requestContext": context,
        "isBase64Encoded": False,
    }


def forwarded_headers(
    raw: Iterable[tuple[str, str]],
    *,
    host: str,
    source_ip: str,
    port: int,
    proto: str,
    trace_id: str,
) -> list[tuple[str, str]]:
    """The CONNECT event's headers: the client's (names as sent) without ``Connection`` and
    ``Upgrade``, with ``Host`` and the proxy headers API Gateway adds."""
    out = [("Host", host)]
    out += [(name, value) for name, value in raw if name.lower() not in _NOT_FORWARDED]
    out += [
        ("X-Amzn-Trace-Id", trace_id),
        ("X-Forwarded-For", source_ip),
        ("X-Forwarded-Port", str(port)),
        ("X-Forwarded-Proto", proto),
    ]
    return out


def method_arn(api_id: str, stage: str, route_key: str = "$connect") -> str:
    """The ARN an authorizer policy must allow for a route, e.g.
    ``arn:aws:execute-api:us-east-1:123456789012:{apiId}/{stage}/$connect``."""
    return f"arn:aws:execute-api:{_REGION}:{ACCOUNT_ID}:{api_id}/{stage}/{route_key}"


def authorizer_event(
    info: ClientInfo,
    *,
    raw_headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    request_id: str,
    epoch_ms: int,
) -> dict[str, Any]:
    """The REQUEST authorizer's input on ``$connect``.

    Unlike the CONNECT event its headers keep ``Connection``, ``Upgrade`` and add
    ``content-length: 0`` (spec §1.2).
    """
    header_pairs = [("Host", info.domain_name)]
    header_pairs += [(n, v) for n, v in raw_headers if n.lower() != "host"]
    header_pairs.append(("content-length", "0"))
    query_pairs = list(query)
    return {
        "type": "REQUEST",
        "methodArn": method_arn(info.api_id, info.stage),
        "headers": single_map(header_pairs),
        "multiValueHeaders": multi_map(header_pairs),
        "queryStringParameters": single_map(query_pairs),
        "multiValueQueryStringParameters": multi_map(query_pairs),
        "stageVariables": {},
        "requestContext": _context(
            replace(info, authorizer=None), "$connect", "CONNECT", request_id, epoch_ms
        ),
    }


def rest_event(
    *,
    method: str,
    resource: str,
    path: str,
    stage: str,
    api_id: str,
    domain_name: str,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    path_parameters: Mapping[str, str],
    body: str | None,
    is_base64: bool,
    source_ip: str,
    request_id: str,
    epoch_ms: int,
    protocol: str = "HTTP/1.1",
) -> dict[str, Any]:
    """A REST API Lambda proxy event (payload 1.0).

    Args:
        method: the HTTP method.
        resource: the matched resource template, e.g. ``/items/{id}``.
        path: the request path without the stage, e.g. ``/items/7``.
        path_parameters: values of the template's ``{name}`` parts (None in the event if empty).
        body: the body text (base64 when ``is_base64``), or None for no body.
    """
    header_pairs = list(headers)
    query_pairs = list(query)
    user_agent = next((v for n, v in header_pairs if n.lower() == "user-agent"), None)
    identity = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": user_agent,
        "user": None,
    }
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single_map(header_pairs) or None,
        "multiValueHeaders": multi_map(header_pairs) or None,
        "queryStringParameters": single_map(query_pairs) or None,
        "multiValueQueryStringParameters": multi_map(query_pairs) or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "wschaos",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": request_id[:15] + "=",
            "requestTime": request_time(epoch_ms),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": protocol,
            "stage": stage,
            "domainPrefix": domain_name.split(".")[0].split(":")[0],
            "requestTimeEpoch": epoch_ms,
            "requestId": request_id,
            "identity": identity,
            "domainName": domain_name,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }
