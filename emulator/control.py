"""The control API, ``/_wschaos`` on the WebSocket port (design §5; not part of AWS's surface).

Scenarios and tests drive the gateway from outside with it: list and close connections (with a
code, or abruptly), add and remove gateway faults, patch the running config, reset, act as the
back end through the @connections operations, and read the sample API's query ledger. Errors are
4xx with ``{"message": "..."}`` naming the problem; nothing a caller sends can stop the emulator.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from emulator.config import PATCHABLE_KEYS, ApiConfig
from emulator.exceptions import ConfigError, EmulatorError
from emulator.faults import Fault, FaultError, parse_fault
from emulator.frames import (
    MAX_REASON_BYTES,
    SENDABLE_CODES,
    CloseCode,
    default_reason,
    is_sendable,
)
from emulator.management import perform
from emulator.models import ConnectionState
from emulator.sample.ledger import ledger_for
from emulator.websocket import GATEWAY

__all__ = ["PREFIX", "ControlError", "add_control_routes", "control_middleware"]

PREFIX = "/_wschaos"


class ControlError(EmulatorError):
    """A bad control request: answered with ``status`` and ``{"message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@web.middleware
async def control_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn errors under ``/_wschaos`` into JSON ``{"message": ...}`` answers."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except ControlError as exc:
        return web.json_response({"message": exc.message}, status=exc.status)
    except web.HTTPNotFound:
        return web.json_response(
            {"message": f"no control endpoint {request.method} {request.path}"}, status=404
        )
    except web.HTTPMethodNotAllowed as exc:
        return web.json_response(
            {
                "message": f"{request.method} not allowed on {request.path} "
                f"(allowed: {', '.join(sorted(exc.allowed_methods))})"
            },
            status=405,
        )


async def _body(request: web.Request) -> dict[str, Any]:
    """The JSON object body; empty means ``{}``."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ControlError(413, f"request body too large: {exc.text}") from None
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ControlError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ControlError(400, f"request body must be a JSON object, got {type(data).__name__}")
    return data


def _unknown_keys(data: Mapping[str, Any], known: set[str]) -> None:
    for key in data:
        if key not in known:
            raise ControlError(400, f"{key}: unknown key (known: {', '.join(sorted(known))})")


def _close_params(data: Mapping[str, Any]) -> tuple[int, str, bool]:
    """``{"code", "reason"}`` or ``{"abrupt": true}``; default 1001 "Going away"."""
    _unknown_keys(data, {"code", "reason", "abrupt"})
    abrupt = data.get("abrupt", False)
    if not isinstance(abrupt, bool):
        raise ControlError(400, f"abrupt: {abrupt!r}: must be true or false")
    if abrupt and ("code" in data or "reason" in data):
        key = "code" if "code" in data else "reason"
        raise ControlError(
            400, f"{key}: {data[key]!r}: an abrupt close sends no close frame, so no code/reason"
        )
    code = data.get("code", CloseCode.GOING_AWAY)
    if not is_sendable(code):
        raise ControlError(
            400, f"code: {code!r}: not a close code a server may send ({SENDABLE_CODES})"
        )
    reason = data.get("reason", default_reason(code))
    if not isinstance(reason, str) or len(reason.encode("utf-8")) > MAX_REASON_BYTES:
        raise ControlError(
            400, f"reason: {reason!r}: must be a string of at most {MAX_REASON_BYTES} bytes"
        )
    return code, reason, abrupt


async def list_connections(request: web.Request) -> web.Response:
    """``GET /connections``: every open connection."""
    gateway = request.app[GATEWAY]
    return web.json_response(
        {"connections": [gateway.describe(conn) for conn in gateway.connections()]}
    )


async def close_connection(request: web.Request) -> web.Response:
    """``POST /connections/{id}/close``: close one connection and wait until it is gone."""
    gateway = request.app[GATEWAY]
    code, reason, abrupt = _close_params(await _body(request))
    connection_id = request.match_info["connection_id"]
    conn = gateway.connection(connection_id)
    if conn is None or conn.state is not ConnectionState.OPEN:
        raise ControlError(404, f"connection {connection_id!r}: no such open connection")
    if abrupt:
        gateway.abort(conn, "fault")
    else:
        gateway.close(conn, code, reason, "fault")
    await gateway.wait_closed([connection_id], timeout=5.0)
    return web.json_response({"closed": [connection_id]})


async def close_all(request: web.Request) -> web.Response:
    """``POST /close-all``: close every open connection (a deploy, a restart)."""
    gateway = request.app[GATEWAY]
    code, reason, abrupt = _close_params(await _body(request))
    closed = await gateway.close_all(code, reason, abrupt=abrupt)
    return web.json_response({"closed": closed})


async def list_faults(request: web.Request) -> web.Response:
    """``GET /faults``: the active gateway faults."""
    return web.json_response({"faults": request.app[GATEWAY].faults.to_wire()})


async def add_fault(request: web.Request) -> web.Response:
    """``POST /faults``: start a fault; 201 with its id."""
    gateway = request.app[GATEWAY]
    try:
        fault, duration = parse_fault(await _body(request))
        _check_route(fault, gateway.config)
        entry = gateway.faults.add(fault, duration)
    except FaultError as exc:
        raise ControlError(400, str(exc)) from None
    return web.json_response(entry.to_wire(gateway.loop.time()), status=201)


def _check_route(fault: Fault, config: ApiConfig) -> None:
    """A fault's ``route`` must name a route of the API: a typo would otherwise do nothing."""
    route = getattr(fault, "route", None)
    if route is None:
        return
    known = [*(config.routes or {}), *(config.rest or {})]
    if route not in known:
        raise FaultError(
            f"{fault.wire_name}: route: {route!r}: not a route of this API "
            f"(routes: {', '.join(known)})"
        )


async def remove_fault(request: web.Request) -> web.Response:
    """``DELETE /faults/{id}``: end one fault."""
    fault_id = request.match_info["fault_id"]
    if not request.app[GATEWAY].faults.remove(fault_id):
        raise ControlError(404, f"fault {fault_id!r}: no such fault")
    return web.json_response({"removed": [fault_id]})


async def clear_faults(request: web.Request) -> web.Response:
    """``DELETE /faults``: end every fault."""
    return web.json_response({"removed": request.app[GATEWAY].faults.clear()})


async def get_config(request: web.Request) -> web.Response:
    """``GET /config``: the running API's config."""
    return web.json_response(request.app[GATEWAY].config.to_mapping())


async def patch_config(request: web.Request) -> web.Response:
    """``PATCH /config``: change timing and limit keys of the running API (live connections
    included); answers the new config."""
    gateway = request.app[GATEWAY]
    data = await _body(request)
    for key in data:
        if key not in PATCHABLE_KEYS:
            raise ControlError(
                400,
                f"{key}: cannot be changed on a running API "
                f"(patchable: {', '.join(sorted(PATCHABLE_KEYS))})",
            )
    try:
        config = gateway.config.with_overrides(data, source="PATCH /_wschaos/config")
    except ConfigError as exc:
        raise ControlError(400, str(exc)) from None
    gateway.apply_config(config)
    return web.json_response(config.to_mapping())


async def reset(request: web.Request) -> web.Response:
    """``POST /reset``: clear faults, close all, clear the ledger, restore the config."""
    await request.app[GATEWAY].reset()
    return web.json_response({"reset": True})


async def backend(request: web.Request) -> web.Response:
    """``POST /backend/{post|delete_connection}``: act as the back end through @connections, on
    ``connectionId`` or the last connection; answers the @connections status (and error code)."""
    gateway = request.app[GATEWAY]
    action = request.match_info["action"]
    data = await _body(request)
    if action == "post":
        _unknown_keys(data, {"connectionId", "data"})
        if "data" not in data:
            raise ControlError(400, "data: required for post")
        payload = data["data"]
        text = payload if isinstance(payload, str) else json.dumps(payload)
        method, body = "POST", text.encode("utf-8")
    elif action == "delete_connection":
        _unknown_keys(data, {"connectionId"})
        method, body = "DELETE", b""
    else:
        raise ControlError(
            404, f"{action!r}: unknown back-end action (known: delete_connection, post)"
        )
    connection_id = data.get("connectionId", gateway.last_connection_id)
    if connection_id is None:
        raise ControlError(404, "no connection to act on: none has connected yet")
    if not isinstance(connection_id, str):
        raise ControlError(400, f"connectionId: {connection_id!r}: must be a string")
    result = await perform(gateway, method, connection_id, body)
    answer: dict[str, Any] = {
        "action": action,
        "connectionId": connection_id,
        "status": result.status,
    }
    if result.error is not None:
        answer["error"] = result.error.code
    return web.json_response(answer)


async def ledger(request: web.Request) -> web.Response:
    """``GET /ledger``: the sample API's executions per ``query_id``."""
    return web.json_response({"queries": ledger_for(request.app[GATEWAY].api_id).executions()})


def add_control_routes(app: web.Application) -> None:
    """Register every ``/_wschaos`` endpoint on the WebSocket port's app."""
    app.middlewares.append(control_middleware)
    r = app.router
    r.add_get(f"{PREFIX}/connections", list_connections)
    r.add_post(f"{PREFIX}/connections/{{connection_id}}/close", close_connection)
    r.add_post(f"{PREFIX}/close-all", close_all)
    r.add_get(f"{PREFIX}/faults", list_faults)
    r.add_post(f"{PREFIX}/faults", add_fault)
    r.add_delete(f"{PREFIX}/faults", clear_faults)
    r.add_delete(f"{PREFIX}/faults/{{fault_id}}", remove_fault)
    r.add_get(f"{PREFIX}/config", get_config)
    r.add_patch(f"{PREFIX}/config", patch_config)
    r.add_post(f"{PREFIX}/reset", reset)
    r.add_post(f"{PREFIX}/backend/{{action}}", backend)
    r.add_get(f"{PREFIX}/ledger", ledger)
