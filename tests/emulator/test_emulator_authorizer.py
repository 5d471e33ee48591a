"""The ``$connect`` Lambda REQUEST authorizer (spec §1.2), each verdict from outside."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from emulator_test_handlers import events_of
from emulator_test_support import H, api, eventually, recv, ws_connect
from websockets.exceptions import InvalidStatus

from emulator import EmulatorServer
from emulator.authorizer import verdict_for_result

Factory = Callable[..., EmulatorServer]


def authorized_api(*sources: str) -> object:
    return api(
        authorizer={"handler": f"{H}:authorize", "identity_sources": list(sources)},
        routes={"$connect": f"{H}:record", "$disconnect": f"{H}:record", "$default": f"{H}:echo"},
    )


def authorizer_events(server: EmulatorServer) -> list[dict]:
    return [e for e in events_of(server.gateway.api_id) if e.get("type") == "REQUEST"]


async def status_for(url: str, **kwargs: object) -> int:
    try:
        async with ws_connect(url, **kwargs):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("allow", 101),
        ("wildcard", 101),
        ("deny", 403),
        ("other", 403),
        ("unauthorized", 401),
        ("crash", 500),
        ("malformed", 500),
        ("badcontext", 500),
    ],
)
async def test_verdicts(emulator_factory: Factory, token: str, status: int) -> None:
    server = emulator_factory(authorized_api("route.request.querystring.token"))
    assert await status_for(f"{server.ws_url}?token={token}") == status
    connects = [e for e in events_of(server.gateway.api_id, "CONNECT") if "type" not in e]
    assert len(connects) == (1 if status == 101 else 0)  # $connect runs only once allowed


async def test_missing_identity_source_is_401_without_invoking(emulator_factory: Factory) -> None:
    server = emulator_factory(
        authorized_api("route.request.querystring.token", "route.request.header.Auth")
    )
    assert await status_for(f"{server.ws_url}?token=allow") == 401
    assert await status_for(server.ws_url, additional_headers={"auth": "allow"}) == 401
    assert await status_for(f"{server.ws_url}?token=", additional_headers={"Auth": "x"}) == 401
    assert authorizer_events(server) == []
    # Header names match case-insensitively; the token comes from the query string here.
    assert await status_for(f"{server.ws_url}?token=allow", additional_headers={"auth": "x"}) == 101


async def test_authorizer_event_and_context_in_later_events(emulator_factory: Factory) -> None:
    server = emulator_factory(authorized_api("route.request.querystring.token"))
    async with ws_connect(f"{server.ws_url}?token=allow") as ws:
        await ws.send("hello")
        assert await recv(ws) == "hello"
    api_id = server.gateway.api_id
    await eventually(lambda: events_of(api_id, "DISCONNECT"))
    [request] = authorizer_events(server)
    assert request["type"] == "REQUEST"
    assert request["methodArn"] == (
        f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/prod/$connect"
    )
    lower = {k.lower(): v for k, v in request["headers"].items()}
    assert lower["connection"].lower() == "upgrade" and lower["upgrade"] == "websocket"
    assert lower["content-length"] == "0"
    assert request["queryStringParameters"] == {"token": "allow"}
    assert request["stageVariables"] == {}
    assert request["requestContext"]["routeKey"] == "$connect"
    assert request["requestContext"]["eventType"] == "CONNECT"
    expected = {"principalId": "user-42", "tenant": "acme", "tier": 3, "admin": False}
    for event_type in ("CONNECT", "MESSAGE", "DISCONNECT"):
        [event] = [e for e in events_of(api_id, event_type) if "type" not in e]
        assert event["requestContext"]["authorizer"] == expected


# -- the verdict itself, fed policies (no sockets) -------------------------------------------------

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcde12345/prod/$connect"


def policy(*statements: object, **extra: object) -> dict:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return {"principalId": "me", "policyDocument": document, **extra}


def statement(effect: str, resource: object, action: object = "execute-api:Invoke") -> dict:
    return {"Action": action, "Effect": effect, "Resource": resource}


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (policy(statement("Allow", ARN)), 200),
        (policy(statement("Allow", "arn:aws:execute-api:*:*:abcde12345/*")), 200),
        (policy(statement("Allow", ARN.replace("$connect", "$conn?ct"))), 200),
        (policy(statement("Allow", ARN, "execute-api:*")), 200),
        (policy(statement("Allow", ARN, "EXECUTE-API:invoke")), 200),  # actions ignore case
        (policy(statement("Allow", ARN.upper())), 403),  # ARNs do not
        (policy(statement("Allow", ARN, "s3:GetObject")), 403),
        (policy(statement("Allow", ARN), statement("Deny", "*")), 403),  # Deny wins
        (policy(statement("Allow", ARN.replace("/prod/", "/dev/"))), 403),
        ({"principalId": "me", "policyDocument": {"Statement": statement("Allow", ARN)}}, 200),
        (policy(statement("Allow", ARN, 7)), 500),
        (policy(statement("Maybe", ARN)), 500),
        (policy(), 500),
        (policy(statement("Allow", ARN), context={"list": [1]}), 500),
        ({"policyDocument": policy(statement("Allow", ARN))["policyDocument"]}, 500),
        ("Allow", 500),
    ],
)
def test_verdict_for_result(result: object, status: int) -> None:
    assert verdict_for_result(result, ARN).status == status


def test_allowed_verdict_carries_principal_and_context() -> None:
    verdict = verdict_for_result(policy(statement("Allow", ARN), context={"n": 1}), ARN)
    assert verdict.request_context == {"principalId": "me", "n": 1}
