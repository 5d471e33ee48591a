"""The Toxiproxy control layer (:mod:`chaos.proxies`) against the embedded server: ToxiproxyClient
and RunProxies. The server and upstream fixtures are this directory's (``conftest.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from toxiproxy_support import connect, round_trip

from chaos.errors import ToxiproxyError
from chaos.proxies import (
    Proxy,
    RunProxies,
    Toxic,
    ToxiproxyClient,
    listen_host_for,
    url_from_env,
)
from chaos.toxiproxy import EmbeddedToxiproxy


@pytest.fixture
async def client(toxiproxy: EmbeddedToxiproxy) -> AsyncIterator[ToxiproxyClient]:
    async with ToxiproxyClient(toxiproxy.url) as api:
        yield api


async def echo_time(address: str, payload: bytes = b"ping") -> float:
    """Seconds for ``payload`` to come back through a new connection to ``address``."""
    reader, writer = await connect(address)
    try:
        return await round_trip(reader, writer, payload)
    finally:
        writer.close()


# --- ToxiproxyClient ------------------------------------------------------------------------------


async def test_client_crud(client: ToxiproxyClient, echo: str) -> None:
    assert await client.version() == "2.12.0"
    assert await client.proxies() == {}
    created = await client.create_proxy("a", upstream=echo)
    assert isinstance(created, Proxy)
    assert created.enabled and created.upstream == echo and created.toxics == []
    assert created.listen.startswith("127.0.0.1:") and not created.listen.endswith(":0")
    assert await client.get_proxy("a") == created
    assert await client.proxies() == {"a": created}
    disabled = await client.set_enabled("a", False)
    assert disabled.enabled is False and disabled.listen == created.listen
    assert (await client.set_enabled("a", True)).enabled is True
    await client.delete_proxy("a")
    assert await client.proxies() == {}


async def test_client_toxics(client: ToxiproxyClient, echo: str) -> None:
    proxy = await client.create_proxy("a", upstream=echo)
    toxic = await client.add_toxic("a", type="latency", attributes={"latency": 300})
    assert toxic == Toxic(
        "latency_downstream", "latency", "downstream", 1.0, {"latency": 300, "jitter": 0}
    )
    assert await echo_time(proxy.listen) >= 0.300
    updated = await client.update_toxic(
        "a", "latency_downstream", attributes={"jitter": 1}, toxicity=0.5
    )
    assert updated.attributes == {"latency": 300, "jitter": 1} and updated.toxicity == 0.5
    await client.add_toxic(
        "a", type="bandwidth", name="bw", stream="upstream", attributes={"rate": 9}
    )
    assert [t.name for t in await client.toxics("a")] == ["bw", "latency_downstream"]
    assert [t.name for t in (await client.get_proxy("a")).toxics] == ["bw", "latency_downstream"]
    await client.remove_toxic("a", "bw")
    await client.clear_toxics("a")
    assert await client.toxics("a") == []
    assert await echo_time(proxy.listen) < 0.2  # the 300 ms latency is gone
    await client.add_toxic("a", type="noop")
    await client.set_enabled("a", False)
    await client.reset()
    reset = await client.get_proxy("a")
    assert reset.enabled and reset.toxics == []


@pytest.mark.parametrize(
    ("call", "status", "message"),
    [
        (lambda c: c.get_proxy("ghost"), 404, "proxy not found"),
        (lambda c: c.delete_proxy("ghost"), 404, "proxy not found"),
        (lambda c: c.create_proxy("a", upstream=""), 400, "missing required field: upstream"),
        (lambda c: c.add_toxic("a", type="nope"), 400, "invalid toxic type"),
        (
            lambda c: c.add_toxic("a", type="noop", stream="sideways"),
            400,
            "stream was invalid, can be either upstream or downstream",
        ),
        (lambda c: c.update_toxic("a", "ghost", toxicity=1), 404, "toxic not found"),
        (lambda c: c.remove_toxic("a", "ghost"), 404, "toxic not found"),
        (lambda c: c.create_proxy("a", upstream="x:1"), 409, "proxy already exists"),
        (
            lambda c: c.create_proxy("b", upstream="x:1", listen="nowhere"),
            500,
            "listen tcp: address nowhere: missing port in address",
        ),
        (
            lambda c: c.add_toxic("a", type="slicer", attributes={"average_size": 0}),
            400,
            "bad request body: attributes.average_size: 0: must be at least 1",
        ),
    ],
)
async def test_client_raises_toxiproxy_errors(
    client: ToxiproxyClient, echo: str, call, status: int, message: str
) -> None:
    await client.create_proxy("a", upstream=echo)
    with pytest.raises(ToxiproxyError) as caught:
        await call(client)
    assert (caught.value.status, caught.value.message) == (status, message)


async def test_client_names_are_escaped(client: ToxiproxyClient, echo: str) -> None:
    await client.create_proxy("a b?#%", upstream=echo)
    toxic = await client.add_toxic("a b?#%", type="noop", name="t?x")
    assert toxic.name == "t?x"
    assert (await client.get_proxy("a b?#%")).toxics[0].name == "t?x"
    await client.remove_toxic("a b?#%", "t?x")
    await client.delete_proxy("a b?#%")


async def test_unreachable_api_is_status_0() -> None:
    async with ToxiproxyClient("http://127.0.0.1:9", timeout=2) as api:
        with pytest.raises(ToxiproxyError) as caught:
            await api.version()
    assert caught.value.status == 0
    assert "cannot reach Toxiproxy at http://127.0.0.1:9" in caught.value.message


async def test_non_json_answer_is_a_toxiproxy_error() -> None:
    async def not_toxiproxy(request: web.Request) -> web.Response:
        return web.Response(text="<html>not toxiproxy")

    app = web.Application()
    app.router.add_get("/version", not_toxiproxy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        async with ToxiproxyClient(f"http://127.0.0.1:{port}", timeout=5) as api:
            with pytest.raises(ToxiproxyError) as caught:
                await api.version()
        assert caught.value.status == 200
        assert "non-JSON" in caught.value.message
    finally:
        await runner.cleanup()


def test_url_from_env() -> None:
    assert url_from_env({}) is None
    assert url_from_env({"TOXIPROXY_URL": " "}) is None
    assert url_from_env({"TOXIPROXY_URL": "localhost:8474"}) == "http://localhost:8474"
    assert url_from_env({"TOXIPROXY_URL": "http://tp:8474"}) == "http://tp:8474"


@pytest.mark.parametrize(
    ("api_host", "listen"),
    [
        ("localhost", "127.0.0.1"),
        ("127.0.0.1", "127.0.0.1"),
        ("127.0.0.2", "127.0.0.2"),
        ("[::1]", "::1"),
        ("toxiproxy", "0.0.0.0"),  # a service name: another container
        ("192.0.2.7", "0.0.0.0"),
    ],
)
def test_proxies_listen_where_the_api_is_reached(api_host: str, listen: str) -> None:
    assert listen_host_for(api_host) == listen


# --- RunProxies -----------------------------------------------------------------------------


async def test_run_proxies_lifecycle(client: ToxiproxyClient, echo: str) -> None:
    proxies = RunProxies(client, "run7", {"websocket": echo, "rest": echo})
    listens = await proxies.create()
    assert set(listens) == {"websocket", "rest"}
    assert sorted(await client.proxies()) == ["run7-rest", "run7-websocket"]
    assert listens["websocket"] == proxies.listen("websocket")
    for address in listens.values():
        assert address.startswith("127.0.0.1:")
        await echo_time(address)

    toxics = await proxies.add_toxic("all", type="latency", attributes={"latency": 300})
    assert len(toxics) == 2
    assert await echo_time(listens["rest"]) >= 0.300
    updated = await proxies.update_toxic("rest", "latency_downstream", attributes={"latency": 0})
    assert updated[0].attributes["latency"] == 0
    assert await echo_time(listens["rest"]) < 0.2
    await proxies.clear_toxics("all")
    assert await client.toxics("run7-websocket") == []

    await proxies.cut("websocket")
    with pytest.raises(ConnectionRefusedError):
        await echo_time(listens["websocket"])
    await echo_time(listens["rest"])  # the other target still works
    assert proxies.proxy("websocket").enabled is False
    await proxies.restore("websocket")
    await echo_time(listens["websocket"])  # same port again

    await proxies.cut("all")
    assert not any(p.enabled for p in (await client.proxies()).values())
    await proxies.restore("all")

    await proxies.destroy()
    await proxies.destroy()  # idempotent
    assert await client.proxies() == {}


async def test_run_proxies_replace_leftovers_and_keep_other_runs(
    client: ToxiproxyClient, echo: str
) -> None:
    await client.create_proxy("old-websocket", upstream="127.0.0.1:1")
    await client.create_proxy("other-websocket", upstream=echo)
    proxies = RunProxies(client, "old", {"websocket": echo})
    listens = await proxies.create()
    await echo_time(listens["websocket"])
    assert (await client.get_proxy("old-websocket")).upstream == echo
    await proxies.destroy()
    assert list(await client.proxies()) == ["other-websocket"]


async def test_run_proxies_wildcard_and_overrides(client: ToxiproxyClient, echo: str) -> None:
    wildcard = RunProxies(client, "w", {"websocket": echo}, listen_host="0.0.0.0")
    listens = await wildcard.create()
    assert wildcard.proxy("websocket").listen.startswith("[::]:")
    assert listens["websocket"].startswith("127.0.0.1:")
    await echo_time(listens["websocket"])

    probe = await client.create_proxy("probe", upstream=echo)
    port = int(probe.listen.rsplit(":", 1)[1])
    await client.delete_proxy("probe")
    fixed = RunProxies(
        client, "f", {"rest": echo}, dial_host="localhost", listen_ports={"rest": port}
    )
    assert await fixed.create() == {"rest": f"localhost:{port}"}
    await echo_time(f"127.0.0.1:{port}")


async def test_run_proxies_reject_unknown_targets(client: ToxiproxyClient, echo: str) -> None:
    proxies = RunProxies(client, "r", {"websocket": echo})
    with pytest.raises(ValueError, match="unknown proxy target 'db'"):
        await proxies.cut("db")
    with pytest.raises(ValueError):
        proxies.listen("db")
    with pytest.raises(ValueError):
        RunProxies(client, "r", {"all": echo})
