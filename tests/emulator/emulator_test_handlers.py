"""Lambda handlers the emulator's tests wire into their APIs (referenced as
``emulator_test_handlers:NAME``). Events are recorded per API id so tests can read them."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections import defaultdict
from typing import Any

import boto3

RECORDED: dict[str, list[dict[str, Any]]] = defaultdict(list)
_lock = threading.Lock()


def _record(event: dict[str, Any]) -> None:
    with _lock:
        RECORDED[event["requestContext"]["apiId"]].append(event)


def events_of(api_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
    with _lock:
        found = list(RECORDED.get(api_id, ()))
    if event_type is None:
        return found
    return [e for e in found if e["requestContext"].get("eventType") == event_type]


def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record(event)
    return {"statusCode": 200}


async def arecord(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record(event)
    return {"statusCode": 200}


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record(event)
    return {"statusCode": 200, "body": event["body"]}


async def aecho(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": event["body"]}


async def status_500_with_body(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 500, "body": "still delivered"}


def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("boom")


async def aboom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("boom")


async def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    await asyncio.sleep(30)
    return {"statusCode": 200, "body": "too late"}


def sync_slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(2)
    return {"statusCode": 200, "body": "too late"}


def where_sync(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": threading.current_thread().name}


async def where_async(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": threading.current_thread().name}


def connect_by_query(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``?status=N`` answers N; ``?proto=P`` selects subprotocol P; ``?raise=1`` raises."""
    _record(event)
    query = event.get("queryStringParameters") or {}
    if "raise" in query:
        raise RuntimeError("connect failed")
    result: dict[str, Any] = {"statusCode": int(query.get("status", 200)), "body": "ignored"}
    if "proto" in query:
        result["headers"] = {"Sec-WebSocket-Protocol": query["proto"]}
    if "none" in query:
        return None  # type: ignore[return-value]
    return result


def post_in_connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Posting to yourself during $connect gives 410 (spec §1.1); reported in the status code."""
    try:
        context.post_to_connection(event["requestContext"]["connectionId"], "early")
    except Exception as exc:
        return {"statusCode": 200 if type(exc).__name__ == "GoneException" else 500}
    return {"statusCode": 500}


def push_sync(event: dict[str, Any], context: Any) -> dict[str, Any]:
    context.post_to_connection(event["requestContext"]["connectionId"], "pushed-sync")
    return {"statusCode": 200}


async def push_async(event: dict[str, Any], context: Any) -> dict[str, Any]:
    pending = context.post_to_connection(event["requestContext"]["connectionId"], "pushed-async")
    await pending
    return {"statusCode": 200}


def _push_with(client: Any, event: dict[str, Any], text: str) -> dict[str, Any]:
    body = json.loads(event["body"])
    target = body.get("to") or event["requestContext"]["connectionId"]
    try:
        client.post_to_connection(ConnectionId=target, Data=text.encode())
    except client.exceptions.GoneException:
        return {"statusCode": 200, "body": "gone"}
    return {"statusCode": 200}


def boto_push_env(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Unchanged Lambda code: the endpoint comes from AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI."""
    client = boto3.client("apigatewaymanagementapi")
    return _push_with(
        client, event, "via-env:" + os.environ["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"]
    )


def boto_push_domain(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Unchanged Lambda code: the endpoint is built from the event (needs AWS_CA_BUNDLE on TLS)."""
    ctx = event["requestContext"]
    client = boto3.session.Session().client(
        "apigatewaymanagementapi", endpoint_url=f"https://{ctx['domainName']}/{ctx['stage']}"
    )
    return _push_with(client, event, "via-domain")


# -- authorizers ---------------------------------------------------------------------------------


def _policy(effect: str, resource: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "principalId": "user-42",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context is not None:
        result["context"] = context
    return result


def authorize(event: dict[str, Any], context: Any) -> Any:
    """The token decides: allow, wildcard, deny, other (another API's ARN), unauthorized, crash,
    malformed, badcontext."""
    _record(event)
    token = (event.get("queryStringParameters") or {}).get("token") or event["headers"].get(
        "Auth", ""
    )
    arn = event["methodArn"]
    if token == "allow":
        return _policy("Allow", arn, {"tenant": "acme", "tier": 3, "admin": False})
    if token == "wildcard":
        return _policy("Allow", arn.rsplit("/", 2)[0] + "/*")
    if token == "deny":
        return _policy("Deny", arn)
    if token == "other":
        return _policy("Allow", arn.replace(event["requestContext"]["apiId"], "zzzzzzzzzz"))
    if token == "unauthorized":
        raise Exception("Unauthorized")
    if token == "malformed":
        return {"statusCode": 401}
    if token == "badcontext":
        return _policy("Allow", arn, {"nested": {"no": "objects"}})
    raise RuntimeError("authorizer crashed")


# -- REST ----------------------------------------------------------------------------------------


def rest_echo_event(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 201,
        "headers": {"X-Handler": "rest_echo_event"},
        "multiValueHeaders": {"X-Multi": ["a", "b"]},
        "body": json.dumps(event),
    }


def rest_binary(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/octet-stream"},
        "body": "AAEC/w==",
        "isBase64Encoded": True,
    }


def rest_malformed(event: dict[str, Any], context: Any) -> Any:
    return "not a proxy result"


async def timeboxed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A handler with its own asyncio timeout entered before its first await."""
    try:
        async with asyncio.timeout(0.05):
            await asyncio.sleep(0.01)
            first = "ok"
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
    except TimeoutError:
        return {"statusCode": 200, "body": f"{first}+caught"}
    return {"statusCode": 200, "body": "not reached"}
