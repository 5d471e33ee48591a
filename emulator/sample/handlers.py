"""The sample API's Lambda handlers (design §6), written as they would be for AWS.

WebSocket messages::

    {"action":"ping","timestamp":T}  ->  {"action":"pong","timestamp":T}  (two-way)
    {"action":"finops_query","query_id":Q,"query":"..."}  ->  pushed through @connections:
        {"type":"progress","query_id":Q,"message":"..."}  (first execution only), then
        {"type":"result","query_id":Q,"answer":{...}}
        or {"type":"error","query_id":Q,"message":"..."}

REST: ``POST /{stage}/query`` with ``{"query_id":Q,"query":"..."}`` -> 200
``{"query_id":Q,"answer":{...}}``, 400 ``{"message":...}`` for a bad request, 422
``{"query_id":Q,"message":...}`` for a query error.

A query is an error when its text is empty or starts with ``error:`` (the rest is the message),
so scenarios can ask for one. Answers are deterministic: the same text gives the same answer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from emulator.exceptions import ApiGatewayError
from emulator.sample.ledger import Outcome, ledger_for

__all__ = ["connect", "default", "disconnect", "finops_query", "ping", "rest_query"]

_SERVICES = ("EC2", "S3", "RDS", "Lambda", "CloudFront", "DynamoDB")


def compute_answer(query: object) -> Outcome:
    """The sample back end's answer to a query text."""
    if not isinstance(query, str) or not query.strip():
        return Outcome(message="query must be a non-empty string")
    if query.startswith("error:"):
        return Outcome(message=query[len("error:") :].strip() or "query failed")
    digest = hashlib.sha256(query.encode("utf-8")).digest()
    breakdown = {
        service: round(int.from_bytes(digest[i * 4 : i * 4 + 4], "big") % 500_000 / 100, 2)
        for i, service in enumerate(_SERVICES[: 2 + digest[31] % 4])
    }
    total = round(sum(breakdown.values()), 2)
    return Outcome(
        answer={
            "query": query,
            "summary": f"Total cost {total:.2f} USD across {len(breakdown)} services.",
            "total": total,
            "currency": "USD",
            "breakdown": breakdown,
        }
    )


def _parse(body: object) -> dict[str, Any] | None:
    """The message body as a JSON object, or None if it is not one."""
    try:
        document = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``$connect``: accept every client."""
    return {"statusCode": 200}


def disconnect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``$disconnect``: nothing to clean up (the ledger outlives connections)."""
    return {"statusCode": 200}


async def ping(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``ping`` (two-way): the application heartbeat, answered with ``pong`` and its timestamp."""
    message = _parse(event.get("body")) or {}
    return {
        "statusCode": 200,
        "body": json.dumps({"action": "pong", "timestamp": message.get("timestamp")}),
    }


async def default(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``$default`` (two-way): an unknown action or a body that is not JSON gets an error."""
    return {
        "statusCode": 400,
        "body": json.dumps({"type": "error", "message": "Unknown action"}),
    }


async def _push(context: Any, connection_id: str, message: dict[str, Any]) -> bool:
    """Post ``message`` to the client; False if it is gone."""
    try:
        pending = context.post_to_connection(connection_id, json.dumps(message))
        if pending is not None:
            await pending
    except ApiGatewayError:
        return False  # the client went away; its answer stays in the ledger for a retry
    return True


async def finops_query(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``finops_query`` (one-way): progress (first execution only), then the result or error,
    pushed through @connections; the ledger runs each ``query_id`` once."""
    connection_id = event["requestContext"]["connectionId"]
    message = _parse(event.get("body")) or {}
    query_id = message.get("query_id")
    if not isinstance(query_id, str) or not query_id:
        await _push(
            context,
            connection_id,
            {"type": "error", "query_id": query_id, "message": "query_id is required"},
        )
        return {"statusCode": 400}
    ledger = ledger_for(event["requestContext"]["apiId"])
    if not ledger.seen(query_id):
        await _push(
            context,
            connection_id,
            {"type": "progress", "query_id": query_id, "message": "Analyzing cost data..."},
        )
    outcome = await ledger.run_once(query_id, lambda: compute_answer(message.get("query")))
    if outcome.ok:
        reply = {"type": "result", "query_id": query_id, "answer": outcome.answer}
    else:
        reply = {"type": "error", "query_id": query_id, "message": outcome.message}
    await _push(context, connection_id, reply)
    return {"statusCode": 200}


def _rest(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """A REST proxy result with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
    }


async def rest_query(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``POST /query``: the same query over REST, through the same ledger."""
    message = _parse(event.get("body"))
    if message is None:
        return _rest(400, {"message": "body must be a JSON object"})
    query_id = message.get("query_id")
    if not isinstance(query_id, str) or not query_id:
        return _rest(400, {"message": "query_id is required"})
    ledger = ledger_for(event["requestContext"]["apiId"])
    outcome = await ledger.run_once(query_id, lambda: compute_answer(message.get("query")))
    if outcome.ok:
        return _rest(200, {"query_id": query_id, "answer": outcome.answer})
    return _rest(422, {"query_id": query_id, "message": outcome.message})
