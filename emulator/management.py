"""The @connections management API on the WebSocket port (spec §6).

``POST|GET|DELETE /{stage}/@connections/{id}``: parse, call the gateway's operation, serialise.
Errors carry ``x-amzn-ErrorType`` so boto3 raises ``client.exceptions.GoneException`` and friends.
Signatures are not checked (any dummy credentials work). Ids arrive percent-encoded (``%3D``);
aiohttp decodes them. A wrong stage, or a method the API does not have, gets 403
``{"message":"Forbidden"}``. Every request is counted in
``wschaos_gateway_management_requests_total{method,status}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.exceptions import ApiGatewayError, ForbiddenException, PayloadTooLargeException
from emulator.gateway import Gateway
from emulator.websocket import GATEWAY

__all__ = ["ManagementResult", "connections_handler", "perform"]


@dataclass(frozen=True, slots=True)
class ManagementResult:
    """The outcome of one @connections operation.

    Attributes:
        status: the HTTP status.
        body: the JSON body (GetConnection's document), or None for none.
        error: the AWS error raised, or None.
    """

    status: int
    body: Any = None
    error: ApiGatewayError | None = None


async def _operate(gateway: Gateway, method: str, connection_id: str, data: bytes) -> Any:
    """PostToConnection, GetConnection or DeleteConnection; GetConnection's document, or None."""
    if method == "POST":
        pending = gateway.post_to_connection(connection_id, data)
        if pending is not None:
            await pending
        return None
    if method == "GET":
        return gateway.get_connection(connection_id)
    if method == "DELETE":
        gateway.delete_connection(connection_id)
        return None
    raise ForbiddenException()


async def perform(
    gateway: Gateway, method: str, connection_id: str, data: bytes = b""
) -> ManagementResult:
    """Run one @connections operation as the API would, counting it in the metrics.

    Used by the HTTP handler and by the control API's back-end actions alike.

    Args:
        method: ``POST``, ``GET`` or ``DELETE``; any other is answered 403.
        connection_id: the id, already percent-decoded.
        data: the body of a ``POST``.
    """
    try:
        body = await _operate(gateway, method, connection_id, data)
        result = ManagementResult(204 if method == "DELETE" else 200, body)
    except ApiGatewayError as exc:
        result = ManagementResult(exc.status, error=exc)
    gateway.metrics.management.labels(method, str(result.status)).inc()
    return result


def _error(exc: ApiGatewayError) -> web.Response:
    status, headers, body = exc.to_wire()
    return web.Response(status=status, headers=headers, body=body)


async def connections_handler(request: web.Request) -> web.Response:
    """``/{stage}/@connections/{connection_id}``."""
    gateway = request.app[GATEWAY]
    method = request.method
    if request.match_info["stage"] != gateway.config.stage:
        gateway.metrics.management.labels(method, "403").inc()
        return _error(ForbiddenException())
    data = b""
    if method == "POST":
        # The body limit is the configured message limit (which PATCH /_wschaos/config can move
        # past the app's client_max_size), so reading stops as soon as the post is too big.
        limit = gateway.config.limits.message_bytes
        try:
            data = await request.clone(client_max_size=limit).read()
        except web.HTTPRequestEntityTooLarge:
            gateway.metrics.management.labels(method, "413").inc()
            return _error(
                PayloadTooLargeException(f"Message size exceeds the limit of {limit} bytes")
            )
    result = await perform(gateway, method, request.match_info["connection_id"], data)
    if result.error is not None:
        return _error(result.error)
    if result.body is not None:
        return web.json_response(result.body, status=result.status)
    return web.Response(status=result.status)
