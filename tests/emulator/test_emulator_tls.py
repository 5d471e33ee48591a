"""``tls=True`` (``--tls``): wss:// and https:// with a local CA exported through AWS_CA_BUNDLE, so
handler code building ``https://{domainName}/{stage}`` from its event works unchanged."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import aiohttp
from emulator_test_support import H, api, recv, ws_connect

from emulator import EmulatorServer

Factory = Callable[..., EmulatorServer]


async def test_wss_https_and_both_handler_patterns(
    emulator_factory: Factory, http: aiohttp.ClientSession
) -> None:
    server = emulator_factory(
        api(routes={"domain": f"{H}:boto_push_domain", "env": f"{H}:boto_push_env"}),
        tls=True,
    )
    assert server.ws_url.startswith("wss://") and server.rest_url.startswith("https://")
    bundle = os.environ["AWS_CA_BUNDLE"]
    assert server.ca_file is not None
    assert server.ca_file.read_text() in Path(bundle).read_text()
    assert os.environ["AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"] == (
        f"https://127.0.0.1:{server.port}/prod"
    )
    async with ws_connect(server.ws_url, ssl=server.ssl_context()) as ws:
        await ws.send('{"action":"domain"}')
        assert await recv(ws) == "via-domain"
        await ws.send('{"action":"env"}')
        assert await recv(ws) == f"via-env:https://127.0.0.1:{server.port}/prod"
    ssl = server.ssl_context()
    async with http.post(
        f"{server.rest_url}/query", json={"query_id": "t", "query": "x"}, ssl=ssl
    ) as r:
        assert r.status == 403  # this API declares no REST routes: still answered over TLS
    async with http.get(f"{server.http_url}/_wschaos/connections", ssl=ssl) as r:
        assert r.status == 200
    server.stop()
    assert os.environ.get("AWS_CA_BUNDLE") != bundle
