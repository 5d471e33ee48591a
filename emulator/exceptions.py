"""Exceptions of the ``emulator`` package, and the AWS errors the gateway answers with.

Tree (classes defined elsewhere are named with their module)::

    EmulatorError
    ├── ConfigError                 a bad API config: names the file, key and value
    ├── HandlerError                a ``module:function`` handler that cannot be loaded
    ├── faults.FaultError           a gateway fault that does not validate (also a ValueError)
    ├── control.ControlError        a bad /_wschaos control request: its status and message
    ├── IntegrationError            an integration raised or returned garbage (502 / error frame)
    │   └── IntegrationTimeout      an integration ran past ``integration_timeout``
    └── ApiGatewayError             an error of the @connections API, in AWS's shape
        ├── BadRequestException         400 (malformed connection id)
        ├── ForbiddenException          403 (wrong stage or path)
        ├── GoneException               410 (closed, unknown or still-connecting id)
        ├── PayloadTooLargeException    413 (over the message payload limit)
        └── LimitExceededException      429

Each :class:`ApiGatewayError` subclass mirrors one AWS error code (spec §6) and serialises itself
with :meth:`ApiGatewayError.to_wire`, whose ``x-amzn-ErrorType`` header is what lets botocore raise
the typed exception (``client.exceptions.GoneException``).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

__all__ = [
    "ApiGatewayError",
    "BadRequestException",
    "ConfigError",
    "EmulatorError",
    "ForbiddenException",
    "GoneException",
    "HandlerError",
    "IntegrationError",
    "IntegrationTimeout",
    "LimitExceededException",
    "PayloadTooLargeException",
]


class EmulatorError(Exception):
    """Root of every exception raised by ``emulator``."""


class ConfigError(EmulatorError, ValueError):
    """An API config value that does not validate.

    Attributes:
        source: where the config came from (a file name, ``--stage``, ``PATCH /_wschaos/config``).
        key: the dotted key, e.g. ``limits.frame_bytes`` or ``routes.ping``.
        value: the offending value.
        problem: what is wrong with it.
    """

    def __init__(self, source: str, key: str, value: object, problem: str) -> None:
        self.source = source
        self.key = key
        self.value = value
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.value!r}: {self.problem}"

    def with_source(self, source: str) -> ConfigError:
        """The same error, attributed to ``source``."""
        return ConfigError(source, self.key, self.value, self.problem)


class HandlerError(EmulatorError, ValueError):
    """A ``module:function`` handler reference that cannot be resolved to a callable."""


class IntegrationError(EmulatorError):
    """An integration (Lambda handler) raised, or returned a result the gateway cannot use."""


class IntegrationTimeout(IntegrationError):
    """An integration did not finish within the integration timeout (AWS: 29 s)."""


class ApiGatewayError(EmulatorError):
    """An error of the @connections management API, as AWS sends it.

    Attributes:
        code: the AWS error code, sent as ``x-amzn-ErrorType``.
        status: the HTTP status.
        message: the ``message`` member of the JSON body, or None for an empty ``{}`` body.
    """

    code: ClassVar[str] = "ApiGatewayError"
    status: ClassVar[int] = 500

    def __init__(self, message: str | None = None) -> None:
        self.message = message
        head = f"{self.code} ({self.status})"
        super().__init__(head if message is None else f"{head}: {message}")

    def to_wire(self) -> tuple[int, dict[str, str], bytes]:
        """The HTTP status, headers and body that carry this error to an SDK."""
        body: dict[str, Any] = {} if self.message is None else {"message": self.message}
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": self.code}
        return self.status, headers, json.dumps(body).encode()


class BadRequestException(ApiGatewayError):
    """400: the connection id is malformed (``Invalid connectionId: <id>``)."""

    code = "BadRequestException"
    status = 400


class ForbiddenException(ApiGatewayError):
    """403: the wrong stage or path (AWS answers ``{"message":"Forbidden"}``)."""

    code = "ForbiddenException"
    status = 403

    def __init__(self, message: str | None = "Forbidden") -> None:
        super().__init__(message)


class GoneException(ApiGatewayError):
    """410: the connection is closed, unknown, or still in ``$connect``; AWS sends no message."""

    code = "GoneException"
    status = 410


class PayloadTooLargeException(ApiGatewayError):
    """413: the posted data is over the message payload limit (128 KB)."""

    code = "PayloadTooLargeException"
    status = 413


class LimitExceededException(ApiGatewayError):
    """429: too many requests (botocore retries these)."""

    code = "LimitExceededException"
    status = 429
