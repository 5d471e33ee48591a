"""The ``$connect`` Lambda REQUEST authorizer's verdicts, without I/O (spec §1.2).

- A configured identity source (header or query string) is missing or empty: 401, and the
  authorizer is never invoked.
- The authorizer raises ``Exception("Unauthorized")``: 401.
- The policy denies, or no ``Allow`` statement covers the ``$connect`` method ARN: 403.
- The authorizer raises anything else or returns something malformed: 500.
- Otherwise the connection proceeds, and ``principalId`` plus the ``context`` keys reach every later
  event of the connection in ``requestContext.authorizer``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AuthVerdict", "missing_identity_source", "verdict_for_exception", "verdict_for_result"]

_CONTEXT_TYPES = (str, int, float, bool)


@dataclass(frozen=True)
class AuthVerdict:
    """What the gateway does with a handshake after the authorizer.

    Attributes:
        status: 200 to go on to ``$connect``; otherwise the HTTP status to answer with.
        principal_id: the policy's ``principalId`` (when allowed).
        context: the policy's ``context`` (when allowed).
    """

    status: int
    principal_id: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        """Whether the handshake goes on to ``$connect``."""
        return self.status == 200

    @property
    def request_context(self) -> dict[str, Any]:
        """``requestContext.authorizer`` for later events."""
        return {"principalId": self.principal_id, **self.context}


def missing_identity_source(
    sources: tuple[str, ...],
    headers: Mapping[str, str],
    query: Mapping[str, str],
) -> str | None:
    """The first identity source absent (or empty) from the request, or None if all are there.

    Args:
        sources: ``route.request.header.NAME`` / ``route.request.querystring.NAME`` entries.
        headers: request headers keyed by lower-case name (header names are case-insensitive).
        query: query string parameters (case-sensitive, as on AWS).
    """
    for source in sources:
        _, _, kind, name = source.split(".", 3)
        value = headers.get(name.lower()) if kind == "header" else query.get(name)
        if not value:
            return source
    return None


def verdict_for_exception(exc: BaseException) -> AuthVerdict:
    """``Exception("Unauthorized")`` is AWS's way to say 401; any other failure is a 500."""
    return AuthVerdict(401 if str(exc) == "Unauthorized" else 500)


_INVOKE = "execute-api:Invoke"


def _matches(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: '*' is any run of characters (slashes included), '?' one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def verdict_for_result(result: object, method_arn: str) -> AuthVerdict:
    """Judge an authorizer's return value against the ``$connect`` method ARN."""
    if not isinstance(result, Mapping):
        return AuthVerdict(500)
    principal = result.get("principalId")
    document = result.get("policyDocument")
    context = result.get("context") or {}
    if not isinstance(principal, str) or not principal or not isinstance(document, Mapping):
        return AuthVerdict(500)
    if not isinstance(context, Mapping) or not all(
        isinstance(v, _CONTEXT_TYPES) for v in context.values()
    ):
        return AuthVerdict(500)
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return AuthVerdict(500)
    allowed = False
    for statement in statements:
        if not isinstance(statement, Mapping):
            return AuthVerdict(500)
        effect = statement.get("Effect")
        resources = statement.get("Resource")
        actions = statement.get("Action", _INVOKE)
        if isinstance(resources, str):
            resources = [resources]
        if isinstance(actions, str):
            actions = [actions]
        if (
            effect not in ("Allow", "Deny")
            or not isinstance(resources, list)
            or not isinstance(actions, list)
        ):
            return AuthVerdict(500)
        # Action names are case-insensitive in IAM; resources (ARNs) are not.
        if not any(isinstance(a, str) and _matches(a, _INVOKE, ignore_case=True) for a in actions):
            continue
        if any(isinstance(r, str) and _matches(r, method_arn) for r in resources):
            if effect == "Deny":
                return AuthVerdict(403)
            allowed = True
    if not allowed:
        return AuthVerdict(403)
    return AuthVerdict(200, principal, dict(context))
