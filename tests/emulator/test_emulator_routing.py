"""Route selection as API Gateway evaluates it (spec §2.1), without sockets."""

from __future__ import annotations

import json

import pytest

from emulator.routing import RouteSelector, select_route, stringify

ROUTES = {"$connect", "$disconnect", "$default", "join", "chat/join", "join-", "[1, 2]", "42"}


def route(expression: str, body: object, routes: set[str] = ROUTES) -> str | None:
    text = body if isinstance(body, str) else json.dumps(body)
    return select_route(RouteSelector.parse(expression), text, routes)


@pytest.mark.parametrize(
    ("expression", "body", "expected"),
    [
        ("$request.body.action", {"action": "join"}, "join"),
        ("$request.body.a.b", {"a": {"b": "join"}}, "join"),
        ("${request.body.action}", {"action": "join"}, "join"),
        (
            "${request.body.service}/${request.body.action}",
            {"service": "chat", "action": "join"},
            "chat/join",
        ),
        # A missing path is "": "join-" is a route of its own.
        ("${request.body.action}-${request.body.invalidPath}", {"action": "join"}, "join-"),
        ("\\$default", {"action": "join"}, "$default"),
        ("$request.body.action", {"action": [1, 2]}, "[1, 2]"),
        ("$request.body.action", {"action": 42}, "42"),
        # Exact match only: case and whitespace matter.
        ("$request.body.action", {"action": "Join"}, "$default"),
        ("$request.body.action", {"action": "join "}, "$default"),
        ("$request.body.action", {"other": "join"}, "$default"),
        # Not evaluable: non-JSON, JSON that is not an object.
        ("$request.body.action", "hi", "$default"),
        ("$request.body.action", '"join"', "$default"),
        ("$request.body.action", "123", "$default"),
        ("$request.body.action", "[]", "$default"),
        # A message never selects $connect or $disconnect.
        ("$request.body.action", {"action": "$connect"}, "$default"),
        ("$request.body.action", {"action": "$disconnect"}, "$default"),
    ],
)
def test_route_selection(expression: str, body: object, expected: str) -> None:
    assert route(expression, body) == expected


def test_no_match_without_default_is_forbidden() -> None:
    routes = {"join"}
    assert route("$request.body.action", {"action": "nope"}, routes) is None
    assert route("$request.body.action", "not json", routes) is None
    assert route("$request.body.action", {"action": "join"}, routes) == "join"


def test_static_expression_ignores_the_body() -> None:
    assert route("join", "not json at all") == "join"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("s", "s"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (1.5, "1.5"),
        ([1, "a"], "[1, a]"),
        ({"k": 1}, "{k=1}"),
    ],
)
def test_stringify(value: object, text: str) -> None:
    assert stringify(value) == text


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("", "non-empty"),
        ("$context.routeKey", "only $request.body"),
        ("$request.header.x", "only $request.body"),
        ("${request.body.action", "unclosed"),
    ],
)
def test_bad_expressions_say_why(expression: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("$", r"\$")):
        RouteSelector.parse(expression)
