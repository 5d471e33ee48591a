"""A local emulator of AWS API Gateway WebSocket APIs.

The public surface::

    from emulator import EmulatorServer, ApiConfig, load_config

    with EmulatorServer(load_config("api.yaml"), time_scale=600) as server:
        server.ws_url     # ws://127.0.0.1:PORT/prod
        server.http_url   # http://127.0.0.1:PORT  (@connections, /_wschaos control API)
        server.rest_url   # http://127.0.0.1:RPORT/prod

:func:`create_app` / :func:`create_rest_app` give the aiohttp applications to serve yourself.
"""

from emulator.app import create_app, create_rest_app
from emulator.config import ApiConfig, AuthorizerConfig, Limits, load_config
from emulator.exceptions import (
    ApiGatewayError,
    BadRequestException,
    ConfigError,
    EmulatorError,
    ForbiddenException,
    GoneException,
    HandlerError,
    IntegrationError,
    IntegrationTimeout,
    LimitExceededException,
    PayloadTooLargeException,
)
from emulator.frames import CloseCode
from emulator.gateway import Gateway
from emulator.lambda_runtime import LambdaContext
from emulator.server import EmulatorServer

__all__ = [
    "ApiConfig",
    "ApiGatewayError",
    "AuthorizerConfig",
    "BadRequestException",
    "CloseCode",
    "ConfigError",
    "EmulatorError",
    "EmulatorServer",
    "ForbiddenException",
    "Gateway",
    "GoneException",
    "HandlerError",
    "IntegrationError",
    "IntegrationTimeout",
    "LambdaContext",
    "LimitExceededException",
    "Limits",
    "PayloadTooLargeException",
    "create_app",
    "create_rest_app",
    "load_config",
]
