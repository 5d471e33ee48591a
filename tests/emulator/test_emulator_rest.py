"""The REST API on the REST port: proxy events, proxy results, AWS's errors (issue 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from emulator_test_support import H, api

from emulator import EmulatorServer

Factory = Callable[..., EmulatorServer]
HERE = "test_emulator_rest"  # this module, for handlers only these tests use


def framing_headers(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A proxy result whose own framing headers contradict its body."""
    headers = {"Content-Length": "999", "Transfer-Encoding": "chunked", "X-Kept": "yes"}
    return {"statusCode": 200, "headers": headers, "body": "abc"}


def headers_not_a_mapping(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "headers": ["X-A: 1"], "body": "abc"}


def rest_api(**overrides: object) -> object:
    return api(
        rest={
            "POST /items": f"{H}:rest_echo_event",
            "GET /items/{id}": f"{H}:rest_echo_event",
            "GET /items/special": f"{H}:rest_binary",
            "ANY /files/{path+}": f"{H}:rest_echo_event",
            "GET /files/{dir}/{name}": f"{H}:rest_echo_event",
            "GET /boom": f"{H}:boom",
            "GET /slow": f"{H}:slow",
            "GET /malformed": f"{H}:rest_malformed",
            "GET /framing": f"{HERE}:framing_headers",
            "GET /headers": f"{HERE}:headers_not_a_mapping",
        },
        **overrides,
    )


async def test_proxy_event_and_result(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(rest_api())
    async with http.post(
        f"{server.rest_url}/items?a=1&a=2&b=x", json={"k": "v"}, headers={"X-Test": "t"}
    ) as response:
        assert response.status == 201
        assert response.headers["X-Handler"] == "rest_echo_event"
        assert response.headers.getall("X-Multi") == ["a", "b"]
        event = await response.json()
    assert event["resource"] == "/items" and event["path"] == "/items"
    assert event["httpMethod"] == "POST"
    assert json.loads(event["body"]) == {"k": "v"} and event["isBase64Encoded"] is False
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["headers"]["X-Test"] == "t" and event["multiValueHeaders"]["X-Test"] == ["t"]
    assert event["pathParameters"] is None and event["stageVariables"] is None
    context = event["requestContext"]
    assert context["stage"] == "prod" and context["path"] == "/prod/items"
    assert context["resourcePath"] == "/items" and context["httpMethod"] == "POST"
    assert context["apiId"] == server.gateway.api_id
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert set(event) == {
        "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
        "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
        "body", "isBase64Encoded",
    }  # fmt: skip


async def test_path_parameters_and_specific_routes_first(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(rest_api())
    async with http.get(f"{server.rest_url}/items/42") as response:
        event = await response.json()
        assert event["pathParameters"] == {"id": "42"} and event["resource"] == "/items/{id}"
        assert event["body"] is None and event["queryStringParameters"] is None
    async with http.get(f"{server.rest_url}/items/special") as response:
        assert response.status == 200 and await response.read() == b"\x00\x01\x02\xff"
    async with http.delete(f"{server.rest_url}/files/a/b/c.txt") as response:
        assert (await response.json())["pathParameters"] == {"path": "a/b/c.txt"}
    # Two parameters beat one greedy parameter; a method beats ANY.
    async with http.get(f"{server.rest_url}/files/a/b") as response:
        event = await response.json()
        assert event["resource"] == "/files/{dir}/{name}"
        assert event["pathParameters"] == {"dir": "a", "name": "b"}
    async with http.get(f"{server.rest_url}/files/a/b/c") as response:
        assert (await response.json())["resource"] == "/files/{path+}"


async def test_proxy_results_framing_is_the_servers(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(rest_api())
    async with http.get(f"{server.rest_url}/framing") as response:
        assert response.status == 200 and await response.read() == b"abc"
        assert response.headers["X-Kept"] == "yes"
        assert response.headers["Content-Length"] == "3"


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/prod/nowhere", 403, "Missing Authentication Token"),
        ("DELETE", "/prod/items", 403, "Missing Authentication Token"),
        ("POST", "/staging/items", 403, "Missing Authentication Token"),
        ("GET", "/", 403, "Missing Authentication Token"),
        ("GET", "/prod/boom", 502, "Internal server error"),
        ("GET", "/prod/malformed", 502, "Internal server error"),
        ("GET", "/prod/headers", 502, "Internal server error"),
        ("GET", "/prod/slow", 504, "Endpoint request timed out"),
    ],
)
async def test_errors(
    emulator_factory: Factory,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    status: int,
    message: str,
) -> None:
    server = emulator_factory(rest_api(), time_scale=600)
    async with http.request(method, f"http://127.0.0.1:{server.rest_port}{path}") as response:
        assert response.status == status
        assert await response.json() == {"message": message}


async def test_oversize_body_gets_413(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{emulator.rest_url}/query", data=b"x" * (5 * 1024 * 1024)) as r:
        assert r.status == 413 and await r.json() == {"message": "Request Too Long"}
    async with http.post(f"{emulator.rest_url}/query", json={"query_id": "ok", "query": "x"}) as r:
        assert r.status == 200  # still serving


async def test_sample_rest_query_runs_once(
    emulator: EmulatorServer, http: aiohttp.ClientSession
) -> None:
    url = f"{emulator.rest_url}/query"
    answers = []
    for _ in range(3):
        async with http.post(url, json={"query_id": "r-1", "query": "RDS costs"}) as response:
            assert response.status == 200
            answers.append(await response.json())
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["query_id"] == "r-1" and answers[0]["answer"]["query"] == "RDS costs"
    async with http.post(url, json={"query_id": "r-2", "query": "error: denied"}) as response:
        assert response.status == 422
        assert await response.json() == {"query_id": "r-2", "message": "denied"}
    async with http.post(url, data=b"nope") as response:
        assert response.status == 400
    async with http.get(f"{emulator.http_url}/_wschaos/ledger") as response:
        assert await response.json() == {"queries": {"r-1": 1, "r-2": 1}}
