"""Toxiproxy's API errors: one small class per ``api.go`` sentinel, each with its HTTP status.

Tree (:class:`ApiError` is a :class:`chaos.errors.ChaosError`)::

    ApiError(message, status)         rendered as {"error": message, "status": status}
    ├── ProxyNotFound         404     "proxy not found"
    ├── ProxyAlreadyExists    409     "proxy already exists"
    ├── InvalidStream         400     "stream was invalid, can be either upstream or downstream"
    ├── InvalidToxicType      400     "invalid toxic type"
    ├── ToxicAlreadyExists    409     "toxic already exists"
    └── ToxicNotFound         404     "toxic not found"

plus :func:`bad_request_body` (400 ``bad request body: <detail>``), :func:`missing_field` (400
``missing required field: <detail>``) and :func:`internal` (500, a bind or resolve error's text);
:func:`scan_body` reads a request body, failing with the first.

Sentinels are classes, not shared instances: raising one instance again and again would chain
every raise's traceback onto it and keep those frames alive for the life of the server.
"""

from __future__ import annotations

from typing import Any

from chaos.errors import ChaosError
from chaos.toxiproxy.gojson import GoJSONError, join_object, quote, scan

__all__ = [
    "ApiError",
    "InvalidStream",
    "InvalidToxicType",
    "ProxyAlreadyExists",
    "ProxyNotFound",
    "ToxicAlreadyExists",
    "ToxicNotFound",
    "bad_request_body",
    "internal",
    "missing_field",
    "scan_body",
]


class ApiError(ChaosError):
    """An error the API answers with ``status`` and ``{"error": message, "status": status}``.

    Subclasses fix ``message`` and ``status`` as class attributes and take no arguments.
    """

    message: str = "internal error"
    status: int = 500

    def __init__(self, message: str | None = None, status: int | None = None) -> None:
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status
        super().__init__(self.message)

    def pairs(self) -> list[tuple[str, str]]:
        """The encoded ``error`` and ``status`` members, in Toxiproxy's key order."""
        return [("error", quote(self.message)), ("status", str(self.status))]

    def to_json(self) -> str:
        """The error object, compact, as Go marshals it."""
        return join_object(self.pairs())


class ProxyNotFound(ApiError):
    """No proxy has the name in the path (checked before anything else on a proxy route)."""

    message, status = "proxy not found", 404


class ProxyAlreadyExists(ApiError):
    """A proxy with that name exists (checked before binding)."""

    message, status = "proxy already exists", 409


class InvalidStream(ApiError):
    """``stream`` is neither ``upstream`` nor ``downstream`` (case-insensitively)."""

    message, status = "stream was invalid, can be either upstream or downstream", 400


class InvalidToxicType(ApiError):
    """``type`` names no registered toxic (case-sensitively)."""

    message, status = "invalid toxic type", 400


class ToxicAlreadyExists(ApiError):
    """A toxic with that name exists in either stream of the proxy."""

    message, status = "toxic already exists", 409


class ToxicNotFound(ApiError):
    """No toxic of the proxy has the name in the path."""

    message, status = "toxic not found", 404


def bad_request_body(detail: str) -> ApiError:
    """400 ``bad request body: <detail>`` (a body Go cannot decode, or attributes we refuse)."""
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(detail: str) -> ApiError:
    """400 ``missing required field: <detail>`` (``name``, ``upstream at proxy 2``)."""
    return ApiError(f"missing required field: {detail}", 400)


def internal(message: str) -> ApiError:
    """500 with a non-API error's text, as Toxiproxy answers bind and resolve failures."""
    return ApiError(message, 500)


def scan_body(body: bytes) -> Any:
    """The first JSON value of a request body (:func:`~chaos.toxiproxy.gojson.scan`).

    Raises:
        ApiError: 400 ``bad request body: <Go's decoder message>``.
    """
    try:
        return scan(body)
    except GoJSONError as exc:
        raise bad_request_body(str(exc)) from None
