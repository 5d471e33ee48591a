"""How to point the emulator at your own Lambda handlers and test them over a real WebSocket.

Override ``wschaos_api_config`` (here for this module; in a ``conftest.py`` for a whole suite,
or set ``WSCHAOS_API_CONFIG=api.yaml``) and ``wschaos_emulator`` serves your API. Any WebSocket
client works; this example uses ``websockets`` directly. A handler that raises fails the test at
teardown, unless the test takes the failure with ``take_handler_errors()``.
"""

from __future__ import annotations

import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from chaos.testing import Emulator, EmulatorPool
from emulator import ApiConfig, IntegrationError


@pytest.fixture(scope="module")
def wschaos_api_config() -> ApiConfig:
    # The same keys as an api.yaml file (design §5); handlers are module:function references.
    return ApiConfig.from_mapping(
        {
            "routes": {
                "$connect": "example_handlers:connect",
                "$disconnect": "example_handlers:disconnect",
                "echo": "example_handlers:echo",
                "shout": "example_handlers:shout",
                "crash": "example_handlers:crash",
            },
            "two_way_routes": ["echo"],
        },
        source="test_howto_handlers.py",
    )


async def test_connect_refuses_a_caller_without_the_token(wschaos_emulator: Emulator):
    with pytest.raises(InvalidStatus) as refused:
        await connect(wschaos_emulator.ws_url)

    assert refused.value.response.status_code == 401


async def test_a_two_way_route_answers_the_caller(wschaos_emulator: Emulator):
    async with connect(f"{wschaos_emulator.ws_url}?token=let-me-in") as ws:
        await ws.send(json.dumps({"action": "echo", "text": "hello"}))
        reply = json.loads(await ws.recv())

    assert reply == {"echo": "hello"}


async def test_a_handler_pushes_through_connections_with_boto3(wschaos_emulator: Emulator):
    async with connect(f"{wschaos_emulator.ws_url}?token=let-me-in") as ws:
        await ws.send(json.dumps({"action": "shout", "text": "hello"}))
        pushed = json.loads(await ws.recv())

    assert pushed == {"shout": "HELLO"}


async def test_a_crashing_handler_is_reported(wschaos_emulator: Emulator):
    async with connect(f"{wschaos_emulator.ws_url}?token=let-me-in") as ws:
        await ws.send(json.dumps({"action": "crash"}))
        reply = json.loads(await ws.recv())

    # The caller sees what API Gateway sends; the test sees the handler's exception.
    assert reply["message"] == "Internal server error"
    (failure,) = wschaos_emulator.take_handler_errors()
    assert isinstance(failure, IntegrationError)
    assert isinstance(failure.__cause__, KeyError)


@pytest.fixture
def another_emulator(wschaos_emulators: EmulatorPool) -> Emulator:
    # Each emulator points AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI at itself when it starts.
    return Emulator(wschaos_emulators.get(None, time_scale=2.0))


async def test_handlers_reach_their_own_emulator_when_several_run(
    another_emulator: Emulator, wschaos_emulator: Emulator
):
    async with connect(f"{wschaos_emulator.ws_url}?token=let-me-in") as ws:
        await ws.send(json.dumps({"action": "shout", "text": "still here"}))
        pushed = json.loads(await ws.recv())

    assert pushed == {"shout": "STILL HERE"}
