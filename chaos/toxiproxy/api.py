"""Toxiproxy's HTTP API on aiohttp: routes, middleware quirks and response encoding.

Parsing and state live in :mod:`~chaos.toxiproxy.proxy_collection` and
:mod:`~chaos.toxiproxy.toxic_collection`; this module only routes, calls and serialises, the way
Toxiproxy's gorilla/mux router and ``api.go`` do:

- matched routes carry ``X-Toxiproxy-Request-Id`` and refuse ``Mozilla/`` user agents (403);
- an unknown path is ``404 page not found``; a known path with another method is an empty 405;
- non-canonical paths (``//``, ``/./``, ``/../``) are redirected (301) to the cleaned path;
- success bodies are compact JSON without a newline; errors are JSON plus ``\\n`` served as
  ``text/plain`` (Go's ``http.Error``), except ``/populate`` which answers ``application/json``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from yarl import URL

from chaos.toxiproxy.errors import ApiError
from chaos.toxiproxy.gojson import join_object
from chaos.toxiproxy.proxy_collection import ProxyCollection

__all__ = ["COLLECTION", "VERSION", "create_app"]

logger = logging.getLogger(__name__)

#: The Toxiproxy release whose API this server speaks.
VERSION = "2.12.0"

#: The application's proxies.
COLLECTION = web.AppKey("collection", ProxyCollection)

#: Seconds before a request is answered 503, as Toxiproxy's ``http.TimeoutHandler`` does.
HANDLER_TIMEOUT = 25.0

_TIMEOUT_BODY = b"<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"
_TEXT = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}

Handler = Callable[[web.Request, ProxyCollection], Awaitable[web.Response]]


def _json(text: str, status: int = 200) -> web.Response:
    return web.Response(
        body=text.encode("utf-8"), status=status, headers={"Content-Type": "application/json"}
    )


def _error(error: ApiError) -> web.Response:
    body = (error.to_json() + "\n").encode("utf-8")
    return web.Response(body=body, status=error.status, headers=_TEXT)


def _no_content() -> web.Response:
    return web.Response(status=204)


# --- handlers ---------------------------------------------------------------------------------


async def _reset(request: web.Request, proxies: ProxyCollection) -> web.Response:
    await proxies.reset()
    return _no_content()


async def _proxy_index(request: web.Request, proxies: ProxyCollection) -> web.Response:
    return _json(proxies.index_json())


async def _proxy_create(request: web.Request, proxies: ProxyCollection) -> web.Response:
    proxy = await proxies.create_json(await request.read())
    return _json(proxy.to_json(), 201)


async def _populate(request: web.Request, proxies: ProxyCollection) -> web.Response:
    done, error = await proxies.populate_json(await request.read())
    listed = "[" + ",".join(p.to_json() for p in done) + "]" if done else "null"
    pairs = [*(error.pairs() if error else []), ("proxies", listed)]
    return _json(join_object(pairs), error.status if error else 201)


async def _proxy_show(request: web.Request, proxies: ProxyCollection) -> web.Response:
    return _json(proxies.get(request.match_info["proxy"]).to_json())


async def _proxy_update(request: web.Request, proxies: ProxyCollection) -> web.Response:
    proxy = await proxies.update_json(request.match_info["proxy"], await request.read())
    return _json(proxy.to_json())


async def _proxy_delete(request: web.Request, proxies: ProxyCollection) -> web.Response:
    await proxies.remove(request.match_info["proxy"])
    return _no_content()


async def _toxic_index(request: web.Request, proxies: ProxyCollection) -> web.Response:
    return _json(proxies.get(request.match_info["proxy"]).toxics.to_json())


async def _toxic_create(request: web.Request, proxies: ProxyCollection) -> web.Response:
    proxy = proxies.get(request.match_info["proxy"])
    toxic = await proxy.toxics.add_json(await request.read())
    return _json(toxic.to_json())


async def _toxic_show(request: web.Request, proxies: ProxyCollection) -> web.Response:
    proxy = proxies.get(request.match_info["proxy"])
    return _json(proxy.toxics.get(request.match_info["toxic"]).to_json())


async def _toxic_update(request: web.Request, proxies: ProxyCollection) -> web.Response:
    proxy = proxies.get(request.match_info["proxy"])
    toxic = await proxy.toxics.update_json(request.match_info["toxic"], await request.read())
    return _json(toxic.to_json())


async def _toxic_delete(request: web.Request, proxies: ProxyCollection) -> web.Response:
    proxy = proxies.get(request.match_info["proxy"])
    await proxy.toxics.remove(request.match_info["toxic"])
    return _no_content()


async def _version(request: web.Request, proxies: ProxyCollection) -> web.Response:
    body = f'{{"version": "{VERSION}"}}\n'.encode()
    return web.Response(body=body, headers={"Content-Type": "application/json;charset=utf-8"})


# --- routing ----------------------------------------------------------------------------------

_ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/reset", {"POST": _reset}),
    ("/proxies", {"GET": _proxy_index, "POST": _proxy_create}),
    ("/populate", {"POST": _populate}),
    (
        "/proxies/{proxy}",
        {
            "GET": _proxy_show,
            "POST": _proxy_update,
            "PATCH": _proxy_update,
            "DELETE": _proxy_delete,
        },
    ),
    ("/proxies/{proxy}/toxics", {"GET": _toxic_index, "POST": _toxic_create}),
    (
        "/proxies/{proxy}/toxics/{toxic}",
        {
            "GET": _toxic_show,
            "POST": _toxic_update,
            "PATCH": _toxic_update,
            "DELETE": _toxic_delete,
        },
    ),
    ("/version", {"GET": _version}),
]
_COMPILED = [
    (re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"), methods)
    for path, methods in _ROUTES
]


def clean_path(path: str) -> str:
    """gorilla/mux's ``cleanPath``: Go's ``path.Clean`` with a leading slash, keeping a trailing
    slash."""
    if not path:
        return "/"
    if not path.startswith("/"):
        path = "/" + path
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    cleaned = "/" + "/".join(parts)
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


_MACHINE = secrets.token_bytes(3)
_PID = (os.getpid() & 0xFFFF).to_bytes(2, "big")
_COUNTER = itertools.count(int.from_bytes(secrets.token_bytes(3), "big"))


def request_id() -> str:
    """A 20-character ``xid`` (time, machine, pid, counter; lowercase base32hex), like zerolog's."""
    raw = (
        int(time.time()).to_bytes(4, "big")
        + _MACHINE
        + _PID
        + (next(_COUNTER) & 0xFFFFFF).to_bytes(3, "big")
    )
    return base64.b32hexencode(raw).decode("ascii").rstrip("=").lower()


async def _dispatch(request: web.Request) -> web.StreamResponse:
    path = request.path
    cleaned = clean_path(path)
    if cleaned != path:
        location = URL.build(path=cleaned, query_string=request.query_string)
        return web.Response(status=301, headers={"Location": str(location)})
    allowed = False
    for pattern, methods in _COMPILED:
        match = pattern.match(path)
        if match is None:
            continue
        handler = methods.get(request.method)
        if handler is None:
            allowed = True
            continue
        request.match_info.update(match.groupdict())
        return await _run_matched(request, handler)
    if allowed:
        return web.Response(status=405)
    return web.Response(body=b"404 page not found\n", status=404, headers=_TEXT)


async def _run_matched(request: web.Request, handler: Handler) -> web.Response:
    headers = {"X-Toxiproxy-Request-Id": request_id()}
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        response = web.Response(body=b"User agent not allowed\n", status=403, headers=_TEXT)
    else:
        # Shielded: a change that times out still completes, so state never stays half-applied.
        task = asyncio.ensure_future(_call(request, handler))
        try:
            response = await asyncio.wait_for(asyncio.shield(task), HANDLER_TIMEOUT)
        except TimeoutError:
            task.add_done_callback(_log_failure)  # nobody awaits it any more
            response = web.Response(
                body=_TIMEOUT_BODY,
                status=503,
                headers={"Content-Type": "text/html; charset=utf-8"},
            )
    response.headers.update(headers)
    return response


def _log_failure(task: asyncio.Future[web.Response]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("request failed after its 503", exc_info=task.exception())


async def _call(request: web.Request, handler: Handler) -> web.Response:
    try:
        return await handler(request, request.app[COLLECTION])
    except ApiError as error:
        return _error(error)


def create_app(collection: ProxyCollection) -> web.Application:
    """The aiohttp application serving Toxiproxy's API over ``collection``."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app[COLLECTION] = collection
    app.router.add_route("*", "/{tail:.*}", _dispatch)
    return app
