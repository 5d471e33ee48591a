"""Handlers run as AWS runs them: async on the emulator's loop, sync in a thread pool, and
``context.post_to_connection`` pushes in-process from both."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from emulator_test_support import SOON, H, api, recv, ws_connect

from emulator import EmulatorServer, HandlerError, IntegrationError
from emulator.lambda_runtime import LambdaRuntime, load_handler

Factory = Callable[..., EmulatorServer]


async def test_sync_handlers_run_in_a_pool_and_async_ones_on_the_loop(
    emulator_factory: Factory,
) -> None:
    server = emulator_factory(
        api(
            routes={"sync": f"{H}:where_sync", "async": f"{H}:where_async"},
            two_way_routes=["sync", "async"],
        )
    )
    async with ws_connect(server.ws_url) as ws:
        await ws.send('{"action":"sync"}')
        assert (await recv(ws)).startswith("wschaos-lambda")
        await ws.send('{"action":"async"}')
        assert await recv(ws) == f"wschaos-emulator-{server.port}"


@pytest.mark.parametrize(
    ("handler", "text"), [("push_sync", "pushed-sync"), ("push_async", "pushed-async")]
)
async def test_context_posts_in_process(emulator_factory: Factory, handler: str, text: str) -> None:
    server = emulator_factory(api(routes={"$default": f"{H}:{handler}"}))
    async with ws_connect(server.ws_url) as ws:
        await ws.send("go")
        assert await recv(ws) == text


async def test_handlers_see_the_management_endpoint(emulator_factory: Factory) -> None:
    server = emulator_factory()
    assert os.environ["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] == (
        f"http://127.0.0.1:{server.port}/prod"
    )
    server.stop()
    assert os.environ.get("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI") != (
        f"http://127.0.0.1:{server.port}/prod"
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("no_colon", "module:function"),
        ("nosuch_module_xyz:f", "cannot import nosuch_module_xyz"),
        ("emulator_test_handlers:missing", "has no attribute missing"),
        ("emulator_test_handlers:RECORDED", "not callable"),
    ],
)
def test_bad_handler_references_say_why(spec: str, problem: str) -> None:
    with pytest.raises(HandlerError, match=problem):
        load_handler(spec)


async def test_handler_timeouts_belong_to_the_handler(emulator_factory: Factory) -> None:
    # Async handlers are stepped at once; a timeout they enter must still cancel only them.
    server = emulator_factory(api(routes={"$default": f"{H}:timeboxed"}))
    async with ws_connect(server.ws_url) as ws:
        for _ in range(3):
            await ws.send("go")
            assert await recv(ws) == "ok+caught"


async def test_a_closed_runtime_refuses_sync_handlers() -> None:
    # After shutdown a late $disconnect must fail cleanly, not start a pool that outlives it.
    runtime = LambdaRuntime()
    event = {"requestContext": {"apiId": "closed", "connectionId": "x"}, "body": "b"}

    def poster(connection_id: str, data: bytes, *, route: str | None = None) -> None:
        return None

    result = await runtime.invoke(f"{H}:echo", event, budget=SOON, route=None, poster=poster)
    assert result == {"statusCode": 200, "body": "b"}
    runtime.close()
    with pytest.raises(IntegrationError, match="shutting down"):
        await runtime.invoke(f"{H}:echo", event, budget=SOON, route=None, poster=poster)
