"""Lambda handlers of a small echo API, written as they would be deployed on AWS.

``test_howto_handlers.py`` points the emulator at them. Nothing here knows about wschaos: the
emulator calls ``handler(event, context)`` as API Gateway and Lambda do, and boto3's
``apigatewaymanagementapi`` client finds the emulator's @connections endpoint through
``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI``, which the emulator sets.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

#: The token $connect accepts (a stand-in for a real authorizer).
TOKEN = "let-me-in"


def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """$connect: refuse connections without the token (401 fails the handshake)."""
    token = (event.get("queryStringParameters") or {}).get("token")
    return {"statusCode": 200 if token == TOKEN else 401}


def disconnect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """$disconnect: nothing to clean up here."""
    return {"statusCode": 200}


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``echo`` (a two-way route): the body goes back to the caller as the route response."""
    text = json.loads(event["body"])["text"]
    return {"statusCode": 200, "body": json.dumps({"echo": text})}


def shout(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``shout`` (one-way): pushes the answer through the @connections API with boto3."""
    text = json.loads(event["body"])["text"]
    api = boto3.client("apigatewaymanagementapi")
    api.post_to_connection(
        ConnectionId=event["requestContext"]["connectionId"],
        Data=json.dumps({"shout": text.upper()}).encode(),
    )
    return {"statusCode": 200}


def crash(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``crash``: a handler with a bug."""
    raise KeyError("user_id")
