"""CONNECT, MESSAGE and DISCONNECT events carry exactly the fields AWS puts in them (spec §5)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from emulator_test_handlers import events_of
from emulator_test_support import H, api, eventually, recv, ws_connect

from emulator import EmulatorServer
from emulator.events import request_time

Factory = Callable[..., EmulatorServer]
ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")
CLF = re.compile(
    r"^\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2} \+0000$"
)

COMMON = [
    "routeKey", "eventType", "extendedRequestId", "requestTime", "messageDirection", "stage",
    "connectedAt", "requestTimeEpoch", "identity", "requestId", "domainName", "connectionId",
    "apiId",
]  # fmt: skip


def test_request_time_is_clf_in_utc_with_english_months() -> None:
    assert request_time(1708326702790) == "19/Feb/2024:07:11:42 +0000"


async def test_event_fields_are_exactly_awss(emulator_factory: Factory) -> None:
    server = emulator_factory(api(routes={
        "$connect": f"{H}:record", "$disconnect": f"{H}:record", "$default": f"{H}:echo",
    }))  # fmt: skip
    before = time.time() * 1000
    async with ws_connect(
        f"{server.ws_url}?token=abc&tag=1&tag=2",
        additional_headers={"X-Custom": "yes"},
        user_agent_header="wschaos-test/1.0",
    ) as ws:
        await ws.send('{"action":"anything"}')
        assert await recv(ws) == '{"action":"anything"}'
    async with ws_connect(server.ws_url):
        pass
    api_id = server.gateway.api_id
    events = await eventually(lambda: len(events_of(api_id)) == 5 and events_of(api_id))
    after = time.time() * 1000
    # Handlers run concurrently (sync ones in a pool): pick the events out by kind, not order.
    [connect] = [e for e in events if "queryStringParameters" in e]
    [bare_connect] = [e for e in events_of(api_id, "CONNECT") if e is not connect]
    [message] = events_of(api_id, "MESSAGE")
    cid = connect["requestContext"]["connectionId"]
    [disconnect] = [
        e for e in events_of(api_id, "DISCONNECT") if e["requestContext"]["connectionId"] == cid
    ]

    # CONNECT: headers, query maps only with a query string, no body.
    assert list(connect) == [
        "headers", "multiValueHeaders", "queryStringParameters",
        "multiValueQueryStringParameters", "requestContext", "isBase64Encoded",
    ]  # fmt: skip
    assert list(bare_connect) == [
        "headers",
        "multiValueHeaders",
        "requestContext",
        "isBase64Encoded",
    ]
    assert connect["queryStringParameters"] == {"token": "abc", "tag": "2"}
    assert connect["multiValueQueryStringParameters"] == {"token": ["abc"], "tag": ["1", "2"]}
    headers = connect["headers"]
    assert headers["X-Custom"] == "yes"
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Port"] == str(server.port)
    assert headers["X-Forwarded-Proto"] == "http"
    assert re.match(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$", headers["X-Amzn-Trace-Id"])
    assert "Sec-WebSocket-Key" in headers and "Sec-WebSocket-Version" in headers
    assert not {"Connection", "Upgrade"} & {name.title() for name in headers}
    assert connect["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert connect["isBase64Encoded"] is False
    context = connect["requestContext"]
    assert list(context) == COMMON
    assert context["routeKey"] == "$connect" and context["eventType"] == "CONNECT"

    # MESSAGE: no headers; messageId; the raw text as body.
    assert list(message) == ["requestContext", "body", "isBase64Encoded"]
    assert message["body"] == '{"action":"anything"}'
    mcontext = message["requestContext"]
    assert list(mcontext) == ["routeKey", "messageId", *COMMON[1:]]
    assert mcontext["routeKey"] == "$default" and mcontext["eventType"] == "MESSAGE"

    # DISCONNECT: AWS's odd empty headers; the close frame's code and reason.
    assert disconnect["headers"] == {
        "Host": f"127.0.0.1:{server.port}", "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "",
    }  # fmt: skip
    assert disconnect["multiValueHeaders"]["x-api-key"] == [""]
    dcontext = disconnect["requestContext"]
    assert list(dcontext) == [
        "routeKey", "disconnectStatusCode", *COMMON[1:5], "disconnectReason", *COMMON[5:],
    ]  # fmt: skip
    assert (dcontext["disconnectStatusCode"], dcontext["disconnectReason"]) == (1000, "")

    # Values shared by all three.
    for ctx in (context, mcontext, dcontext):
        assert ctx["connectionId"] == context["connectionId"]
        assert ctx["connectedAt"] == context["connectedAt"]
        assert ctx["stage"] == "prod" and ctx["apiId"] == api_id
        assert ctx["messageDirection"] == "IN"
        assert ctx["identity"] == {"userAgent": "wschaos-test/1.0", "sourceIp": "127.0.0.1"}
        assert ctx["domainName"] == f"127.0.0.1:{server.port}"
        assert ID.match(ctx["connectionId"]) and ID.match(ctx["requestId"])
        assert ctx["requestId"] == ctx["extendedRequestId"]
        assert CLF.match(ctx["requestTime"])
        assert before - 1 <= ctx["requestTimeEpoch"] <= after
        assert request_time(ctx["requestTimeEpoch"]) == ctx["requestTime"]
    assert ID.match(mcontext["messageId"])
    assert context["connectedAt"] == context["requestTimeEpoch"] - 1
    assert len({context["requestId"], mcontext["requestId"], dcontext["requestId"]}) == 3
    assert context["connectionId"] != bare_connect["requestContext"]["connectionId"]
    assert json.loads(json.dumps(events)) == events  # plain JSON data, as Lambda receives it
