"""The @connections API through boto3's ``apigatewaymanagementapi`` client (spec §6), called off
the emulator's loop as a back end would."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_test_handlers import events_of
from emulator_test_support import (
    SOON,
    H,
    api,
    closed_with,
    control,
    eventually,
    only_connection,
    recv,
    ws_connect,
)

from emulator import EmulatorServer

Factory = Callable[..., EmulatorServer]


def management(server: EmulatorServer, endpoint: str | None = None) -> Any:
    return boto3.session.Session().client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint or server.management_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


async def test_post_get_delete(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    client = management(server)
    async with ws_connect(server.ws_url, user_agent_header="agent/7") as ws:
        connection_id = await only_connection(server)
        before = datetime.datetime.now(datetime.UTC)
        await asyncio.to_thread(
            client.post_to_connection, ConnectionId=connection_id, Data=b"hi there"
        )
        assert await recv(ws) == "hi there"
        await asyncio.to_thread(
            client.post_to_connection, ConnectionId=connection_id, Data="ünïcode"
        )
        assert await recv(ws) == "ünïcode"
        info = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
        assert info["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "agent/7"}
        assert info["ConnectedAt"] <= info["LastActiveAt"]
        assert abs(info["LastActiveAt"] - before) < datetime.timedelta(seconds=SOON)
        response = await asyncio.to_thread(client.delete_connection, ConnectionId=connection_id)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert await closed_with(ws) == (1000, "Connection Closed Normally")
    [event] = await eventually(lambda: events_of(server.gateway.api_id, "DISCONNECT"))
    context = event["requestContext"]
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (
        1000, "Connection Closed Normally",
    )  # fmt: skip
    # Closed ids are gone for good; unknown but well-formed ids too.
    for call in (client.post_to_connection, client.get_connection, client.delete_connection):
        kwargs: dict[str, Any] = {"ConnectionId": connection_id}
        if call == client.post_to_connection:
            kwargs["Data"] = b"late"
        with pytest.raises(client.exceptions.GoneException):
            await asyncio.to_thread(call, **kwargs)
    with pytest.raises(client.exceptions.GoneException):
        await asyncio.to_thread(client.get_connection, ConnectionId="AAAAAAAAAAAAAAA=")


async def test_errors_as_aws_sends_them(emulator_factory: Factory) -> None:
    server = emulator_factory(api())
    client = management(server)
    async with ws_connect(server.ws_url):
        connection_id = await only_connection(server)
        with pytest.raises(ClientError) as info:
            await asyncio.to_thread(client.get_connection, ConnectionId="not-an-id")
        assert info.value.response["Error"]["Code"] == "BadRequestException"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "Invalid connectionId: not-an-id" in info.value.response["Error"]["Message"]
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            await asyncio.to_thread(
                client.post_to_connection, ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1)
            )
        wrong_stage = management(server, f"{server.http_url}/staging")
        with pytest.raises(wrong_stage.exceptions.ForbiddenException):
            await asyncio.to_thread(wrong_stage.get_connection, ConnectionId=connection_id)


async def test_post_size_limit_follows_a_patched_message_limit(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(api())
    limit = 5 * 1024 * 1024  # past the app's 4 MiB request body limit
    patch = {"limits": {"message_bytes": limit}}
    status, _ = await control(http, server, "PATCH", "/config", patch)
    assert status == 200
    async with ws_connect(server.ws_url, max_size=None) as ws:
        url = f"{server.management_url}/@connections/{await only_connection(server)}"
        within = b"x" * (4 * 1024 * 1024 + 1)
        async with http.post(url, data=within) as response:
            assert response.status == 200, await response.text()
        assert await recv(ws) == within.decode()
        async with http.post(url, data=b"y" * (limit + 1)) as response:
            assert response.status == 413
            assert response.headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
            assert await response.json() == {
                "message": f"Message size exceeds the limit of {limit} bytes"
            }


async def test_ids_arrive_percent_encoded(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as ws:
        connection_id = await only_connection(server)
        encoded = connection_id.replace("=", "%3D").replace("-", "%2D")
        async with http.post(f"{server.management_url}/@connections/{encoded}", data=b"x") as r:
            assert r.status == 200
        assert await recv(ws) == "x"
        async with http.get(f"{server.management_url}/@connections/{encoded}") as r:
            assert r.status == 200
            assert set(await r.json()) == {"connectedAt", "identity", "lastActiveAt"}


async def test_malformed_ids_and_other_methods(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(api())
    async with ws_connect(server.ws_url) as ws:
        connection_id = await only_connection(server)
        base = f"{server.management_url}/@connections"
        # boto3 sends '/' as %2F: decoded, it makes the id malformed (400), not a wrong path.
        async with http.get(f"{base}/AAAAAAA%2FAAAAAAA%3D") as r:
            assert r.status == 400
            assert r.headers["x-amzn-ErrorType"] == "BadRequestException"
            assert await r.json() == {"message": "Invalid connectionId: AAAAAAA/AAAAAAA="}
        # A valid id followed by a newline is malformed too, not an unknown (410) id.
        async with http.get(f"{base}/{connection_id[:-1]}%3D%0A") as r:
            assert r.status == 400
        # The API has POST, GET and DELETE only; no other method may act on the connection.
        for method in ("PUT", "PATCH", "HEAD"):
            async with http.request(method, f"{base}/{connection_id}") as r:
                assert r.status == 403, method
        await ws.send('{"action":"echo","n":1}')
        assert await recv(ws) == '{"action":"echo","n":1}'  # still open


async def test_handler_code_reaches_the_api_unchanged(emulator_factory: Factory) -> None:
    server = emulator_factory(
        api(routes={"$default": f"{H}:boto_push_env"}, two_way_routes=["$default"])
    )
    async with ws_connect(server.ws_url) as ws:
        await ws.send("{}")
        assert await recv(ws) == f"via-env:{server.management_url}"
