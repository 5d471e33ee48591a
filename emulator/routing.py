"""Route selection, without I/O: how API Gateway picks a route for a message (spec §2.1).

A route selection expression is parsed once into literal text and ``$request.body`` paths::

    $request.body.action                       -> "join"
    ${request.body.service}/${request.body.action} -> "chat/join"
    \\$default                                  -> "$default" (a literal)

Evaluation: a message that is not JSON, or JSON that is not an object, cannot be evaluated and goes
to ``$default``; a path that is not found gives ``""``; non-string values are stringified the way
API Gateway's Java runtime does (``[a, b]``, ``true``; the exact text is a best guess, spec §9.7).
The result is matched exactly against the route keys; ``$connect`` and ``$disconnect`` are never
selected by a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field

__all__ = ["DEFAULT_ROUTE", "RouteSelector", "select_route", "stringify"]

DEFAULT_ROUTE = "$default"
CONNECT_ROUTE = "$connect"
DISCONNECT_ROUTE = "$disconnect"

_BRACED = re.compile(r"\$\{request\.body((?:\.[^.{}$]+)*)\}")
_BARE = re.compile(r"\$request\.body((?:\.[A-Za-z0-9_-]+)*)")


@dataclass(frozen=True)
class RouteSelector:
    """A parsed route selection expression.

    Attributes:
        expression: the expression as written.
        parts: literal strings and paths (tuples of keys), in order.
    """

    expression: str
    parts: tuple[str | tuple[str, ...], ...]
    # Worked out once: the key of a static expression, the path of a lone variable.
    _static: str | None = field(init=False, repr=False, compare=False)
    _single: tuple[str, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        literals = [part for part in self.parts if isinstance(part, str)]
        static = "".join(literals) if len(literals) == len(self.parts) else None
        object.__setattr__(self, "_static", static)
        lone = self.parts[0] if len(self.parts) == 1 else None
        object.__setattr__(self, "_single", lone if isinstance(lone, tuple) else None)

    @classmethod
    def parse(cls, expression: str) -> RouteSelector:
        """Parse ``expression``.

        Raises:
            ValueError: the expression is empty, uses a variable other than ``$request.body``,
                or has an unclosed ``${``; the message says which.
        """
        if not isinstance(expression, str) or not expression:
            raise ValueError("must be a non-empty string such as $request.body.action")
        parts: list[str | tuple[str, ...]] = []
        literal: list[str] = []
        i = 0
        while i < len(expression):
            char = expression[i]
            if char == "\\" and expression.startswith("$", i + 1):
                literal.append("$")
                i += 2
                continue
            if char != "$":
                literal.append(char)
                i += 1
                continue
            match = _BRACED.match(expression, i) or _BARE.match(expression, i)
            if match is None:
                if expression.startswith("${", i) and "}" not in expression[i:]:
                    raise ValueError(f"unclosed '${{' at position {i}")
                raise ValueError(
                    f"unsupported variable at position {i}: only $request.body paths "
                    "(e.g. $request.body.action or ${request.body.a.b}); write \\$ for a literal $"
                )
            path = tuple(key for key in match.group(1).split(".") if key)
            if literal:
                parts.append("".join(literal))
                literal.clear()
            parts.append(path)
            i = match.end()
        if literal:
            parts.append("".join(literal))
        return cls(expression, tuple(parts))

    def evaluate(self, body: str) -> str | None:
        """The route key the expression gives for a message body.

        Returns:
            The key, or None when the body is not a JSON object (the message goes to
            ``$default``). A static expression never looks at the body.
        """
        if self._static is not None:
            return self._static
        try:
            document = json.loads(body)
        except ValueError:
            return None
        if not isinstance(document, dict):
            return None
        if self._single is not None:  # the usual $request.body.action
            value: object = document
            for key in self._single:
                if not isinstance(value, dict) or key not in value:
                    return ""
                value = value[key]
            return value if isinstance(value, str) else stringify(value)
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = document
            for key in part:
                if not isinstance(value, dict) or key not in value:
                    value = ""
                    break
                value = value[key]
            out.append(stringify(value))
        return "".join(out)


def stringify(value: object) -> str:
    """Render a JSON value as API Gateway's Java runtime does: ``[a, b]``, ``{k=v}``, ``true``."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(stringify(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={stringify(item)}" for key, item in value.items()) + "}"
    return str(value)


def select_route(selector: RouteSelector, body: str, routes: Collection[str]) -> str | None:
    """The route a message body goes to, or None (no match and no ``$default``: Forbidden).

    Args:
        selector: the API's parsed route selection expression.
        body: the text of the message.
        routes: the API's route keys.
    """
    key = selector.evaluate(body)
    if key is not None and key in routes and key not in (CONNECT_ROUTE, DISCONNECT_ROUTE):
        return key
    return DEFAULT_ROUTE if DEFAULT_ROUTE in routes else None
