"""The REST API on the REST port: the config's ``rest:`` routes under ``/{stage}`` (design §5).

Each route is a Lambda proxy integration invoked with API Gateway's REST proxy event (payload 1.0)
and answered from its proxy result (``statusCode``, ``headers``, ``multiValueHeaders``, ``body``,
``isBase64Encoded``). Unknown routes get 403 ``{"message":"Missing Authentication Token"}``, as on
AWS; a handler that raises or returns garbage gives 502 ``{"message": "Internal server error"}``;
one past the integration timeout gives 504 ``{"message": "Endpoint request timed out"}``; a body
past the port's request size limit gives 413 ``{"message": "Request Too Long"}``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from emulator import events
from emulator.exceptions import IntegrationError, IntegrationTimeout
from emulator.ids import new_uuid
from emulator.websocket import GATEWAY

__all__ = ["RestRoute", "compile_routes", "match_route", "rest_handler"]

# Framing is the server's business: a proxy result's own values would contradict the body sent.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class RestRoute:
    """One ``"METHOD /path"`` route.

    Attributes:
        key: the config key, e.g. ``POST /items/{id}``.
        method: the HTTP method, or ``ANY``.
        resource: the path template.
        segments: the template's segments; ``{name}`` matches one, ``{name+}`` the rest.
        handler: ``module:function``.
    """

    key: str
    method: str
    resource: str
    segments: tuple[str, ...]
    handler: str

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if ``method`` and ``path`` (no stage) match, else None."""
        if self.method not in ("ANY", method):
            return None
        parts = [p for p in path.split("/") if p]
        params: dict[str, str] = {}
        for i, segment in enumerate(self.segments):
            if segment.startswith("{") and segment.endswith("+}"):
                rest = parts[i:]
                if not rest:
                    return None
                params[segment[1:-2]] = "/".join(rest)
                return params
            if i >= len(parts):
                return None
            if segment.startswith("{") and segment.endswith("}"):
                params[segment[1:-1]] = parts[i]
            elif segment != parts[i]:
                return None
        return params if len(parts) == len(self.segments) else None


@lru_cache(maxsize=32)
def _compile(items: tuple[tuple[str, str], ...]) -> tuple[RestRoute, ...]:
    out = []
    for key, handler in items:
        method, _, resource = key.partition(" ")
        segments = tuple(p for p in resource.split("/") if p)
        out.append(RestRoute(key, method, resource, segments, handler))
    # API Gateway prefers the most specific resource: segment by segment, a literal beats a
    # {name}, which beats a greedy {name+}; then a method beats ANY.
    return tuple(sorted(out, key=lambda r: (tuple(map(_rank, r.segments)), r.method == "ANY")))


def _rank(segment: str) -> int:
    if not segment.startswith("{"):
        return 0
    return 2 if segment.endswith("+}") else 1


def compile_routes(rest: Mapping[str, str]) -> tuple[RestRoute, ...]:
    """The config's ``rest:`` mapping as routes, most specific first."""
    return _compile(tuple(rest.items()))


def match_route(
    routes: tuple[RestRoute, ...], method: str, path: str
) -> tuple[RestRoute, dict[str, str]] | None:
    """The route and path parameters for a request, or None."""
    for route in routes:
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


def _message(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


def _response(result: Any) -> web.Response | None:
    """The HTTP response of a proxy result, or None if it is malformed."""
    if not isinstance(result, Mapping):
        return None
    status = result.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        return None
    headers: CIMultiDict[str] = CIMultiDict()
    for name, value in single.items():
        headers[str(name)] = str(value)
    for name, values in multi.items():
        for value in values if isinstance(values, list) else [values]:
            headers.add(str(name), str(value))
    for name in _FRAMING_HEADERS:
        headers.popall(name, None)
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        return None
    if result.get("isBase64Encoded") and body is not None:
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error:
            return None
    else:
        payload = (body or "").encode("utf-8")
    headers.setdefault("Content-Type", "application/json")
    return web.Response(status=status, headers=headers, body=payload)


async def rest_handler(request: web.Request) -> web.Response:
    """Every request on the REST port except ``/metrics``."""
    gateway = request.app[GATEWAY]
    config = gateway.config
    stage_prefix = f"/{config.stage}"
    path = request.path
    if not (path == stage_prefix or path.startswith(stage_prefix + "/")):
        return _message(403, "Missing Authentication Token")
    path = path[len(stage_prefix) :] or "/"
    found = match_route(compile_routes(config.rest or {}), request.method, path)
    if found is None:
        return _message(403, "Missing Authentication Token")
    route, params = found
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _message(413, "Request Too Long")
    body: str | None
    is_base64 = False
    if not raw:
        body = None
    else:
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw).decode("ascii"), True
    event = events.rest_event(
        method=request.method,
        resource=route.resource,
        path=path,
        stage=config.stage,
        api_id=gateway.api_id,
        domain_name=request.host,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers],
        query=list(request.rel_url.query.items()),
        path_parameters=params,
        body=body,
        is_base64=is_base64,
        source_ip=request.remote or "",
        request_id=new_uuid(),
        epoch_ms=events.now_ms(),
        protocol=f"HTTP/{request.version.major}.{request.version.minor}",
    )
    try:
        result = await gateway.invoke(route.handler, route.key, event)
    except IntegrationTimeout as exc:
        gateway.record_failure(exc)
        return _message(504, "Endpoint request timed out")
    except IntegrationError as exc:
        gateway.record_failure(exc)
        return _message(502, "Internal server error")
    response = _response(result)
    if response is None:
        gateway.record_failure(
            IntegrationError(f"{route.handler} returned a malformed proxy result: {result!r}")
        )
        return _message(502, "Internal server error")
    return response
