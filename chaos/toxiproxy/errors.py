"""Toxiproxy's API errors: named sentinels with their HTTP status, as in Toxiproxy's ``api.go``.

Tree::

    ApiError(message, status)          rendered as {"error": message, "status": status}
    ├── sentinels: PROXY_NOT_FOUND 404, PROXY_ALREADY_EXISTS 409, INVALID_STREAM 400,
    │   INVALID_TOXIC_TYPE 400, TOXIC_ALREADY_EXISTS 409, TOXIC_NOT_FOUND 404
    ├── bad_request_body(detail)  400 "bad request body: <detail>"
    ├── missing_field(detail)     400 "missing required field: <detail>"
    └── internal(message)         500, any other error's text (bind, resolve)
"""

from __future__ import annotations

from chaos.toxiproxy.gojson import join_object, quote

__all__ = [
    "INVALID_STREAM",
    "INVALID_TOXIC_TYPE",
    "PROXY_ALREADY_EXISTS",
    "PROXY_NOT_FOUND",
    "TOXIC_ALREADY_EXISTS",
    "TOXIC_NOT_FOUND",
    "ApiError",
    "bad_request_body",
    "internal",
    "missing_field",
]


class ApiError(Exception):
    """An error the API answers with ``status`` and ``{"error": message, "status": status}``."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def pairs(self) -> list[tuple[str, str]]:
        """The encoded ``error`` and ``status`` members, in Toxiproxy's key order."""
        return [("error", quote(self.message)), ("status", str(self.status))]

    def to_json(self) -> str:
        """The error object, compact, as Go marshals it."""
        return join_object(self.pairs())


PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_ALREADY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_ALREADY_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)


def bad_request_body(detail: str) -> ApiError:
    """400 ``bad request body: <detail>`` (a body Go cannot decode, or attributes we refuse)."""
    return ApiError(f"bad request body: {detail}", 400)


def missing_field(detail: str) -> ApiError:
    """400 ``missing required field: <detail>`` (``name``, ``upstream at proxy 2``)."""
    return ApiError(f"missing required field: {detail}", 400)


def internal(message: str) -> ApiError:
    """500 with a non-API error's text, as Toxiproxy answers bind and resolve failures."""
    return ApiError(message, 500)
