"""toxiproxy-python, unchanged, drives the embedded server (it is synchronous and uses requests)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists
from toxiproxy.proxy import Proxy
from toxiproxy_support import start_thread_echo

from chaos.toxiproxy import EmbeddedToxiproxy


@pytest.fixture
def echo_address() -> Iterator[str]:
    listener, address = start_thread_echo()
    yield address
    listener.close()


@pytest.fixture
def server(toxiproxy: EmbeddedToxiproxy, monkeypatch: pytest.MonkeyPatch) -> Toxiproxy:
    # The client keeps host and port as class attributes (process-wide); restore them after.
    monkeypatch.setattr(APIConsumer, "host", APIConsumer.host)
    monkeypatch.setattr(APIConsumer, "port", APIConsumer.port)
    client = Toxiproxy()
    client.update_api_consumer("127.0.0.1", int(toxiproxy.url.rsplit(":", 1)[1]))
    return client


def round_trip(proxy: Proxy, payload: bytes = b"ping") -> float:
    host, port = proxy.listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as client:
        start = time.perf_counter()
        client.sendall(payload)
        received = b""
        while len(received) < len(payload):
            chunk = client.recv(65536)
            assert chunk, f"closed after {received!r}"  # EOF would otherwise spin for ever
            received += chunk
        assert received == payload
        return time.perf_counter() - start


def test_toxiproxy_python_full_cycle(server: Toxiproxy, echo_address: str) -> None:
    assert server.running()
    assert server.version() == b'{"version": "2.12.0"}\n'

    proxy = server.create(upstream=echo_address, name="py")
    assert proxy.listen.startswith("127.0.0.1:") and not proxy.listen.endswith(":0")
    round_trip(proxy)
    assert list(server.proxies()) == ["py"]
    assert server.get_proxy("py").upstream == echo_address
    assert server.get_proxy("missing") is None

    assert proxy.add_toxic(type="latency", attributes={"latency": 300}) is None
    toxics = proxy.toxics()
    assert list(toxics) == ["latency_downstream"]
    assert toxics["latency_downstream"].attributes == {"latency": 300, "jitter": 0}
    assert proxy.get_toxic("latency_downstream").type == "latency"
    assert 0.300 <= round_trip(proxy) < 1.0
    assert proxy.destroy_toxic("latency_downstream") is True
    assert proxy.toxics() == {}

    with proxy.down():
        assert server.get_proxy("py").enabled is False
        with pytest.raises(ConnectionRefusedError):
            round_trip(proxy)
    assert server.get_proxy("py").enabled is True
    assert round_trip(proxy) < 0.2  # up again, and the 300 ms latency is gone

    with pytest.raises(ProxyExists):
        server.create(upstream=echo_address, name="py")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="bogus")
    proxy.add_toxic(type="limit_data", stream="upstream", name="cap", attributes={"bytes": 5})
    with pytest.raises(ProxyExists):
        proxy.add_toxic(type="noop", name="cap")

    assert server.reset() is True
    assert proxy.toxics() == {}

    created = server.populate([{"name": "pop", "upstream": echo_address, "listen": "127.0.0.1:0"}])
    assert [p.name for p in created] == ["pop"]

    assert server.destroy(proxy) is True
    with pytest.raises(NotFound):
        proxy.destroy()
    server.destroy_all()
    assert server.proxies() == {}
