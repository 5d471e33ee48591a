"""The two aiohttp applications of an emulator, built as configuration.

:func:`create_app` serves the WebSocket port: ``GET /{stage}`` (the WebSocket API), the
@connections API, the ``/_wschaos`` control API and ``GET /metrics``. :func:`create_rest_app`
serves the REST port: the config's ``rest:`` routes and ``GET /metrics``. Both share one
:class:`~emulator.gateway.Gateway` (its config, metrics, faults and API id, so the sample API's
ledger spans both transports).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from emulator.config import ApiConfig
from emulator.control import PREFIX, ControlError, add_control_routes
from emulator.gateway import Gateway
from emulator.management import connections_handler
from emulator.rest import rest_handler
from emulator.sample.ledger import drop_ledger, ledger_for
from emulator.websocket import GATEWAY, check_aiohttp_support, forbidden, websocket_handler

__all__ = ["GATEWAY", "create_app", "create_rest_app"]

# Request bodies up to this size are read (control API, REST routes); @connections posts are
# read up to the configured message limit instead (see emulator.management).
_CLIENT_MAX_SIZE = 4 * 1024 * 1024


async def metrics_handler(request: web.Request) -> web.Response:
    """``GET /metrics``: the gateway's registry in Prometheus text format."""
    body = generate_latest(request.app[GATEWAY].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _not_found(request: web.Request) -> web.Response:
    """Any other path: 404 under the control API's prefix, else API Gateway's 403."""
    if request.path.startswith(PREFIX):
        raise ControlError(404, f"no control endpoint {request.method} {request.path}")
    return forbidden()


async def _ledger(app: web.Application) -> AsyncIterator[None]:
    """The sample API's ledger lives as long as the app; reset clears it."""
    gateway = app[GATEWAY]
    gateway.reset_hooks.append(lambda g: ledger_for(g.api_id).clear())
    yield
    drop_ledger(gateway.api_id)


async def _shutdown(app: web.Application) -> None:
    """Close every connection with 1001 before aiohttp stops the handlers."""
    await app[GATEWAY].shutdown()


def create_app(
    config: ApiConfig | None = None,
    *,
    registry: CollectorRegistry | None = None,
    time_scale: float = 1.0,
    gateway: Gateway | None = None,
) -> web.Application:
    """The WebSocket port's app.

    Args:
        config: the API; None = the built-in sample API. Ignored when ``gateway`` is given.
        registry: where gateway metrics go; None = a private registry.
        time_scale: divides configured durations (design §3).
        gateway: an existing gateway to serve (to share it with :func:`create_rest_app`).

    Raises:
        EmulatorError: the installed aiohttp lacks what the frame guard hooks.
    """
    check_aiohttp_support()
    if gateway is None:
        gateway = Gateway(config or ApiConfig(), registry=registry, time_scale=time_scale)
    app = web.Application(client_max_size=_CLIENT_MAX_SIZE)
    app[GATEWAY] = gateway
    add_control_routes(app)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_route("*", "/{stage}/@connections/{connection_id}", connections_handler)
    app.router.add_get("/{stage}", websocket_handler)
    app.router.add_route("*", "/{tail:.*}", _not_found)
    app.cleanup_ctx.append(_ledger)
    app.on_shutdown.append(_shutdown)
    return app


def create_rest_app(gateway: Gateway) -> web.Application:
    """The REST port's app, serving ``gateway``'s ``rest:`` routes."""
    app = web.Application(client_max_size=_CLIENT_MAX_SIZE)
    app[GATEWAY] = gateway
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_route("*", "/{tail:.*}", rest_handler)
    return app
