"""The HTTP API: routes, status codes, JSON shapes, headers and every error case (fact sheet §1)."""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket

import pytest
from toxiproxy_support import Api, Upstream, connect, port_of, read_until_closed, round_trip

from chaos.toxiproxy.proxy_collection import ProxyCollection

ERROR_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}


async def expect_error(api: Api, method: str, path: str, body, status: int, message: str) -> None:
    got, headers, raw = await api.request(method, path, body)
    assert got == status, raw
    assert (
        raw
        == json.dumps({"error": message, "status": status}, separators=(",", ":")).encode() + b"\n"
    )
    for name, value in ERROR_HEADERS.items():
        assert headers[name] == value


# --- routing and middleware ---------------------------------------------------------------------


async def test_version_body_and_headers(api: Api) -> None:
    status, headers, raw = await api.request("GET", "/version")
    assert status == 200
    assert raw == b'{"version": "2.12.0"}\n'
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert re.fullmatch(r"[0-9a-v]{20}", headers["X-Toxiproxy-Request-Id"])


async def test_unknown_path_is_go_404_without_request_id(api: Api) -> None:
    for path in ("/nope", "/proxies/", "/metrics", "/proxies/a/toxics/b/c"):
        status, headers, raw = await api.request("GET", path)
        assert (status, raw) == (404, b"404 page not found\n"), path
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert "X-Toxiproxy-Request-Id" not in headers


async def test_wrong_method_is_empty_405(api: Api) -> None:
    for method, path in [
        ("PUT", "/proxies"),
        ("GET", "/populate"),
        ("GET", "/reset"),
        ("HEAD", "/proxies"),
        ("HEAD", "/version"),
        ("PUT", "/proxies/x"),
        ("PATCH", "/proxies/x/toxics"),
    ]:
        status, headers, raw = await api.request(method, path)
        assert (status, raw) == (405, b""), (method, path)
        assert "X-Toxiproxy-Request-Id" not in headers


async def test_browsers_are_refused_on_matched_routes(api: Api) -> None:
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"}
    status, headers, raw = await api.request("GET", "/proxies", headers=ua)
    assert (status, raw) == (403, b"User agent not allowed\n")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "X-Toxiproxy-Request-Id" in headers
    status, _, _ = await api.request("GET", "/proxies", headers={"User-Agent": "curl/8.0"})
    assert status == 200


async def raw_get(url: str, path: str) -> tuple[int, dict[str, str]]:
    """A GET with the path sent byte for byte (HTTP clients normalise dot segments)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 5)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    head = (await asyncio.wait_for(reader.read(), 5)).split(b"\r\n\r\n")[0].decode()
    writer.close()
    status_line, *lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers


async def test_non_canonical_paths_are_redirected(api: Api) -> None:
    for path, location in [
        ("//proxies", "/proxies"),
        ("/proxies/./x", "/proxies/x"),
        ("/a/../version", "/version"),
        ("/proxies//?q=1", "/proxies/?q=1"),
    ]:
        status, headers = await raw_get(api.url, path)
        assert status == 301, path
        assert headers["Location"] == location


# --- proxies ----------------------------------------------------------------------------------


async def test_create_returns_201_with_go_shape_and_real_port(api: Api, echo: str) -> None:
    status, headers, raw = await api.request(
        "POST", "/proxies", {"name": "p", "listen": "localhost:0", "upstream": "localhost:9"}
    )
    assert status == 201
    assert headers["Content-Type"] == "application/json"
    assert not raw.endswith(b"\n")
    listen = json.loads(raw)["listen"]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", listen) and port_of(listen) > 0
    assert raw == (
        b'{"name":"p","listen":"' + listen.encode() + b'","upstream":"localhost:9",'
        b'"enabled":true,"Logger":{},"toxics":[]}'
    )


async def test_index_is_sorted_by_name_and_empty_is_object(api: Api, echo: str) -> None:
    status, _, raw = await api.request("GET", "/proxies")
    assert (status, raw) == (200, b"{}")
    for name in ("b", "a", "B", "é"):
        await api.create_proxy(name, echo)
    _, _, raw = await api.request("GET", "/proxies")
    assert list(json.loads(raw)) == ["B", "a", "b", "é"]


async def test_create_decodes_like_go(api: Api, echo: str) -> None:
    # case-insensitive keys, unknown keys and a toxics array ignored, trailing junk ignored,
    # null leaves the default (enabled true), the last duplicate wins.
    body = (
        b'{"NAME":"x","Listen":"127.0.0.1:0","upstream":"nowhere:1","upstream":"'
        + echo.encode()
        + b'","enabled":null,"toxics":[{"type":"latency"}],"other":1} trailing'
    )
    status, data = await api.call("POST", "/proxies", body)
    assert status == 201
    assert (data["name"], data["upstream"], data["enabled"], data["toxics"]) == (
        "x",
        echo,
        True,
        [],
    )


async def test_create_disabled_keeps_the_raw_listen(api: Api, echo: str) -> None:
    data = await api.create_proxy("d", echo, listen="localhost:0", enabled=False)
    assert (data["listen"], data["enabled"]) == ("localhost:0", False)
    enabled = await api.set_enabled("d", True)
    assert enabled["listen"].startswith("127.0.0.1:") and port_of(enabled["listen"]) > 0


async def test_wildcard_listen_is_reported_dual_stack(api: Api, echo: str) -> None:
    data = await api.create_proxy("w", echo, listen="0.0.0.0:0")
    assert re.fullmatch(r"\[::\]:\d+", data["listen"])
    reader, writer = await connect(data["listen"])
    assert await round_trip(reader, writer, b"ping") >= 0
    writer.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "bad request body: EOF"),
        (
            b"{bad",
            "bad request body: invalid character 'b' looking for beginning of object key string",
        ),
        (b'{"name":', "bad request body: unexpected EOF"),
        (
            b'{"name":5}',
            "bad request body: json: cannot unmarshal number into Go struct field Proxy.name "
            "of type string",
        ),
        (
            b'{"name":"a","enabled":"yes"}',
            "bad request body: json: cannot unmarshal string into Go struct field Proxy.enabled "
            "of type bool",
        ),
        (
            b'{"name":"a","Logger":5}',
            "bad request body: json: cannot unmarshal number into Go struct field Proxy.Logger "
            "of type zerolog.Logger",
        ),
        (
            b"[]",
            "bad request body: json: cannot unmarshal array into Go value of type toxiproxy.Proxy",
        ),
        (b"{}", "missing required field: name"),
        (b"null", "missing required field: name"),
        (b'{"name":"a"}', "missing required field: upstream"),
        (b'{"name":"a","upstream":""}', "missing required field: upstream"),
    ],
)
async def test_create_rejects_bad_bodies(api: Api, body: bytes, message: str) -> None:
    await expect_error(api, "POST", "/proxies", body, 400, message)
    _, raw = await api.call("GET", "/proxies")
    assert raw == {}


async def test_create_duplicate_is_409_before_binding(api: Api, echo: str) -> None:
    first = await api.create_proxy("dup", echo)
    # Same name on the same (busy) address: the conflict wins over the bind error.
    await expect_error(
        api,
        "POST",
        "/proxies",
        {"name": "dup", "listen": first["listen"], "upstream": echo},
        409,
        "proxy already exists",
    )


async def test_create_bind_failures_are_500_with_go_text(api: Api, echo: str) -> None:
    first = await api.create_proxy("one", echo)
    await expect_error(
        api,
        "POST",
        "/proxies",
        {"name": "two", "listen": first["listen"], "upstream": echo},
        500,
        f"listen tcp {first['listen']}: bind: address already in use",
    )
    await expect_error(
        api,
        "POST",
        "/proxies",
        {"name": "two", "listen": "local373", "upstream": echo},
        500,
        "listen tcp: address local373: missing port in address",
    )
    await expect_error(
        api,
        "POST",
        "/proxies",
        {"name": "two", "listen": "127.0.0.1:70000", "upstream": echo},
        500,
        "listen tcp: address 70000: invalid port",
    )
    _, proxies = await api.call("GET", "/proxies")
    assert list(proxies) == ["one"]  # a proxy that cannot bind is not added


async def test_every_proxy_route_checks_the_proxy_first(api: Api) -> None:
    for method, path, body in [
        ("GET", "/proxies/ghost", None),
        ("POST", "/proxies/ghost", b"not json"),
        ("PATCH", "/proxies/ghost", b"not json"),
        ("DELETE", "/proxies/ghost", None),
        ("GET", "/proxies/ghost/toxics", None),
        ("POST", "/proxies/ghost/toxics", b"not json"),
        ("GET", "/proxies/ghost/toxics/t", None),
        ("PATCH", "/proxies/ghost/toxics/t", b"not json"),
        ("DELETE", "/proxies/ghost/toxics/t", None),
    ]:
        await expect_error(api, method, path, body, 404, "proxy not found")


async def test_show_and_delete(api: Api, echo: str) -> None:
    created = await api.create_proxy("s", echo)
    status, shown = await api.call("GET", "/proxies/s")
    assert (status, shown) == (200, created)
    status, _headers, raw = await api.request("DELETE", "/proxies/s")
    assert (status, raw) == (204, b"")
    await expect_error(api, "DELETE", "/proxies/s", None, 404, "proxy not found")


async def test_update_toggles_enabled_and_rebinds_the_same_port(api: Api, echo: str) -> None:
    created = await api.create_proxy("u", echo)
    reader, writer = await connect(created["listen"])
    await round_trip(reader, writer, b"x")
    down = await api.set_enabled("u", False)
    assert down["enabled"] is False and down["listen"] == created["listen"]
    assert (await read_until_closed(reader))[0] == b""
    with pytest.raises(ConnectionRefusedError):
        await connect(created["listen"])
    status, up = await api.call("PATCH", "/proxies/u", {"enabled": True})
    assert status == 200 and up["listen"] == created["listen"]
    reader, writer = await connect(created["listen"])
    await round_trip(reader, writer, b"y")
    writer.close()


async def test_update_with_same_values_keeps_connections(api: Api, echo: str) -> None:
    created = await api.create_proxy("same", echo)
    reader, writer = await connect(created["listen"])
    body = {"listen": created["listen"], "upstream": echo, "enabled": True, "name": "renamed"}
    status, data = await api.call("POST", "/proxies/same", body)
    assert status == 200 and data["name"] == "same"  # rename is impossible
    await round_trip(reader, writer, b"still here")
    writer.close()


async def test_update_listen_restarts_on_a_new_port(api: Api, echo: str) -> None:
    created = await api.create_proxy("r", echo)
    reader, _ = await connect(created["listen"])
    status, data = await api.call("PATCH", "/proxies/r", {"listen": "127.0.0.1:0"})
    assert status == 200 and data["enabled"] is True
    assert data["listen"] != created["listen"]
    assert (await read_until_closed(reader))[0] == b""


async def test_update_errors(api: Api, echo: str) -> None:
    first = await api.create_proxy("one", echo)
    await api.create_proxy("two", echo)
    await expect_error(api, "PATCH", "/proxies/two", b"", 400, "bad request body: EOF")
    await expect_error(
        api,
        "PATCH",
        "/proxies/two",
        {"listen": "local373"},
        500,
        "address local373: missing port in address",
    )
    await expect_error(
        api,
        "PATCH",
        "/proxies/two",
        {"listen": first["listen"]},
        500,
        f"listen tcp {first['listen']}: bind: address already in use",
    )
    _, two = await api.call("GET", "/proxies/two")
    assert (two["listen"], two["enabled"]) == (first["listen"], False)  # left disabled, new values


# --- toxics -------------------------------------------------------------------------------------


async def test_toxic_defaults_and_shape(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    status, headers, raw = await api.request("POST", "/proxies/t/toxics", {"type": "latency"})
    assert status == 200  # not 201
    assert headers["Content-Type"] == "application/json"
    assert raw == (
        b'{"attributes":{"latency":0,"jitter":0},"name":"latency_downstream","type":"latency",'
        b'"stream":"downstream","toxicity":1}'
    )
    _, _shown_headers, shown = await api.request("GET", "/proxies/t/toxics/latency_downstream")
    assert shown == raw


async def test_every_toxic_type_with_its_attribute_order(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    expected = {
        "latency": '{"latency":0,"jitter":0}',
        "bandwidth": '{"rate":0}',
        "slow_close": '{"delay":0}',
        "timeout": '{"timeout":0}',
        "reset_peer": '{"timeout":0}',
        "slicer": '{"average_size":4,"size_variation":0,"delay":0}',
        "limit_data": '{"bytes":0}',
        "noop": "{}",
    }
    for type_name, attributes in expected.items():
        extra = {"attributes": {"average_size": 4}} if type_name == "slicer" else {}
        status, _, raw = await api.request(
            "POST", "/proxies/t/toxics", {"type": type_name, "stream": "upstream", **extra}
        )
        assert status == 200, raw
        assert raw.startswith(b'{"attributes":' + attributes.encode() + b',"name":')


async def test_stream_is_case_insensitive_and_echoed_verbatim(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    data = await api.add_toxic("t", type="latency", stream="UpStream")
    assert (data["name"], data["stream"]) == ("latency_UpStream", "UpStream")


async def test_toxicity_is_float32_and_not_range_checked(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    for name, toxicity, text in [
        ("a", 0.5, b'"toxicity":0.5}'),
        ("b", 0.2, b'"toxicity":0.2}'),
        ("c", 2.5, b'"toxicity":2.5}'),
        ("d", -1, b'"toxicity":-1}'),
    ]:
        _, _, raw = await api.request(
            "POST", "/proxies/t/toxics", {"name": name, "type": "noop", "toxicity": toxicity}
        )
        assert raw.endswith(text), raw


async def test_toxics_list_upstream_first_in_chain_order(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    await api.add_toxic("t", name="d1", type="noop")
    await api.add_toxic("t", name="u1", type="noop", stream="upstream")
    await api.add_toxic("t", name="d2", type="noop")
    await api.add_toxic("t", name="u2", type="noop", stream="upstream")
    await api.add_toxic("t", name="d3", type="noop")

    async def names() -> list[str]:
        _, toxics = await api.call("GET", "/proxies/t/toxics")
        _, proxy = await api.call("GET", "/proxies/t")
        assert proxy["toxics"] == toxics
        return [toxic["name"] for toxic in toxics]

    assert await names() == ["u1", "u2", "d1", "d2", "d3"]
    await api.remove_toxic("t", "d2")
    await api.update_toxic("t", "d1", toxicity=0.5)
    assert await names() == ["u1", "u2", "d1", "d3"]


async def test_empty_toxic_list_is_an_array(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    _, _, raw = await api.request("GET", "/proxies/t/toxics")
    assert raw == b"[]"


async def test_toxic_create_check_order(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    await api.add_toxic("t", name="taken", type="noop", stream="upstream")
    path = "/proxies/t/toxics"
    # body first, then stream, then type, then the name (unique across streams), then attributes
    await expect_error(api, "POST", path, b"", 400, "bad request body: EOF")
    await expect_error(
        api,
        "POST",
        path,
        {"type": "nope", "stream": "sideways", "name": "taken"},
        400,
        "stream was invalid, can be either upstream or downstream",
    )
    await expect_error(
        api, "POST", path, {"type": "nope", "name": "taken"}, 400, "invalid toxic type"
    )
    await expect_error(
        api, "POST", path, {"type": "Latency"}, 400, "invalid toxic type"
    )  # types are case-sensitive
    await expect_error(
        api,
        "POST",
        path,
        {"type": "latency", "name": "taken", "attributes": {"latency": "x"}},
        409,
        "toxic already exists",
    )
    await expect_error(
        api,
        "POST",
        path,
        {"type": "latency", "attributes": {"latency": 100.0}},
        400,
        "bad request body: json: cannot unmarshal number 100.0 into Go struct field "
        "LatencyToxic.attributes.latency of type int64",
    )
    await expect_error(
        api,
        "POST",
        path,
        {"type": "latency", "attributes": 5},
        400,
        "bad request body: json: cannot unmarshal number into Go struct field "
        "ToxicWrapper.attributes of type toxics.NoopToxic",
    )
    await expect_error(
        api,
        "POST",
        path,
        {"type": "latency", "toxicity": "high"},
        400,
        "bad request body: json: cannot unmarshal string into Go struct field "
        "ToxicWrapper.toxicity of type float32",
    )
    await expect_error(
        api,
        "POST",
        path,
        {"type": "slicer", "attributes": {"average_size": "1"}},
        400,
        "bad request body: json: cannot unmarshal string into Go struct field "
        "SlicerToxic.attributes.average_size of type int",
    )
    _, toxics = await api.call("GET", path)
    assert [toxic["name"] for toxic in toxics] == ["taken"]


async def test_attributes_unknown_ignored_omitted_zero(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    data = await api.add_toxic("t", type="latency", attributes={"jitter": 3, "bogus": "x"})
    assert data["attributes"] == {"latency": 0, "jitter": 3}


@pytest.mark.parametrize(
    ("type_name", "attributes", "message"),
    [
        ("slicer", {"average_size": 0}, "attributes.average_size: 0: must be at least 1"),
        ("slicer", {"average_size": -3}, "attributes.average_size: -3: must be at least 1"),
        (
            "slicer",
            {"average_size": 4, "size_variation": -1},
            "attributes.size_variation: -1: must not be negative",
        ),
        (
            "slicer",
            {"average_size": 4, "size_variation": 4},
            "attributes.size_variation: 4: must be less than average_size (4)",
        ),
        ("bandwidth", {"rate": -1}, "attributes.rate: -1: must not be negative"),
    ],
)
async def test_attributes_that_would_crash_toxiproxy_are_400(
    api: Api, echo: str, type_name: str, attributes: dict, message: str
) -> None:
    created = await api.create_proxy("t", echo)
    await expect_error(
        api,
        "POST",
        "/proxies/t/toxics",
        {"type": type_name, "attributes": attributes},
        400,
        f"bad request body: {message}",
    )
    before = await api.add_toxic(
        "t", name="ok", type=type_name, attributes={"average_size": 2, "rate": 1000}
    )
    await expect_error(
        api,
        "PATCH",
        "/proxies/t/toxics/ok",
        {"attributes": attributes},
        400,
        f"bad request body: {message}",
    )
    # The refused update left the toxic as it was, and the server keeps serving.
    _, toxic = await api.call("GET", "/proxies/t/toxics/ok")
    assert toxic == before
    await api.remove_toxic("t", "ok")
    reader, writer = await connect(created["listen"])
    await round_trip(reader, writer, b"alive")
    writer.close()


async def test_update_merges_attributes_and_keeps_toxicity(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    await api.add_toxic("t", type="latency", attributes={"latency": 50, "jitter": 5}, toxicity=0.5)
    data = await api.update_toxic(
        "t",
        "latency_downstream",
        attributes={"jitter": 7},
        name="renamed",
        type="bandwidth",
        stream="upstream",
    )
    assert data == {
        "attributes": {"latency": 50, "jitter": 7},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.5,
    }
    status, data = await api.call(
        "POST", "/proxies/t/toxics/latency_downstream", {"toxicity": 0.25}
    )
    assert status == 200 and data["toxicity"] == 0.25 and data["attributes"]["latency"] == 50


async def test_toxic_update_and_delete_errors(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo)
    await api.add_toxic("t", type="latency")
    path = "/proxies/t/toxics/latency_downstream"
    await expect_error(api, "GET", "/proxies/t/toxics/ghost", None, 404, "toxic not found")
    await expect_error(api, "PATCH", "/proxies/t/toxics/ghost", b"", 404, "toxic not found")
    await expect_error(api, "DELETE", "/proxies/t/toxics/ghost", None, 404, "toxic not found")
    await expect_error(api, "PATCH", path, b"", 400, "bad request body: EOF")
    await expect_error(
        api,
        "PATCH",
        path,
        {"toxicity": "x"},
        400,
        "bad request body: json: cannot unmarshal string into Go struct field .toxicity "
        "of type float32",
    )
    await expect_error(
        api,
        "PATCH",
        path,
        {"attributes": {"latency": 1.5}},
        400,
        "bad request body: json: cannot unmarshal number 1.5 into Go struct field "
        "LatencyToxic.attributes.latency of type int64",
    )
    status, _headers, raw = await api.request("DELETE", path)
    assert (status, raw) == (204, b"")
    await expect_error(api, "DELETE", path, None, 404, "toxic not found")


async def test_toxics_can_change_while_disabled(api: Api, echo: str) -> None:
    await api.create_proxy("t", echo, enabled=False)
    await api.add_toxic("t", type="latency", attributes={"latency": 1})
    await api.update_toxic("t", "latency_downstream", attributes={"latency": 2})
    await api.remove_toxic("t", "latency_downstream")


# --- populate and reset -------------------------------------------------------------------------


async def test_populate_creates_and_answers_201(api: Api, echo: str) -> None:
    body = [
        {"name": "a", "listen": "127.0.0.1:0", "upstream": echo},
        {"name": "b", "listen": "127.0.0.1:0", "upstream": echo, "enabled": False},
    ]
    status, headers, raw = await api.request("POST", "/populate", body)
    assert status == 201 and headers["Content-Type"] == "application/json"
    proxies = json.loads(raw)["proxies"]
    assert [(p["name"], p["enabled"]) for p in proxies] == [("a", True), ("b", False)]
    assert port_of(proxies[0]["listen"]) > 0 and proxies[1]["listen"] == "127.0.0.1:0"


async def test_populate_keeps_same_and_replaces_different(api: Api, echo: str) -> None:
    kept = await api.create_proxy("kept", echo)
    await api.add_toxic("kept", type="noop")
    await api.set_enabled("kept", False)
    replaced = await api.create_proxy("replaced", echo)
    await api.add_toxic("replaced", type="noop")
    reader, _ = await connect(replaced["listen"])
    body = [
        {"name": "kept", "listen": kept["listen"], "upstream": echo, "enabled": True},
        {"name": "replaced", "listen": "127.0.0.1:0", "upstream": echo},
    ]
    status, data = await api.call("POST", "/populate", body)
    assert status == 201
    after_kept, after_replaced = data["proxies"]
    assert after_kept["enabled"] is False and len(after_kept["toxics"]) == 1  # untouched
    assert after_replaced["toxics"] == [] and after_replaced["listen"] != replaced["listen"]
    assert (await read_until_closed(reader))[0] == b""  # the old proxy's connections closed


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "bad request body: EOF"),
        (
            b"{}",
            "bad request body: json: cannot unmarshal object into Go value of type "
            '[]struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }',
        ),
        (b'[{"upstream":"x:1"}]', "missing required field: name at proxy 1"),
        (
            b'[{"name":"a","upstream":"x:1"},{"name":"b"}]',
            "missing required field: upstream at proxy 2",
        ),
    ],
)
async def test_populate_validation_creates_nothing(api: Api, body: bytes, message: str) -> None:
    status, headers, raw = await api.request("POST", "/populate", body)
    assert status == 400
    assert headers["Content-Type"] == "application/json"
    assert (
        raw
        == json.dumps(
            {"error": message, "status": 400, "proxies": None}, separators=(",", ":")
        ).encode()
    )
    _, proxies = await api.call("GET", "/proxies")
    assert proxies == {}


async def test_populate_stops_at_first_failure_without_rollback(api: Api, echo: str) -> None:
    busy = await api.create_proxy("busy", echo)
    body = [
        {"name": "first", "listen": "127.0.0.1:0", "upstream": echo},
        {"name": "clash", "listen": busy["listen"], "upstream": echo},
        {"name": "never", "listen": "127.0.0.1:0", "upstream": echo},
    ]
    status, _headers, raw = await api.request("POST", "/populate", body)
    assert status == 500 and not raw.endswith(b"\n")
    data = json.loads(raw)
    assert list(data) == ["error", "status", "proxies"]
    assert data["error"] == f"listen tcp {busy['listen']}: bind: address already in use"
    assert [p["name"] for p in data["proxies"]] == ["first"]
    _, proxies = await api.call("GET", "/proxies")
    assert sorted(proxies) == ["busy", "first"]


async def test_populate_empty_list_answers_null(api: Api) -> None:
    status, _, raw = await api.request("POST", "/populate", [])
    assert (status, raw) == (201, b'{"proxies":null}')


async def test_reset_enables_proxies_and_removes_toxics_keeping_connections(
    api: Api, echo: str
) -> None:
    live = await api.create_proxy("live", echo)
    await api.create_proxy("off", echo, enabled=False)
    await api.add_toxic("live", type="latency", attributes={"latency": 2000}, stream="upstream")
    await api.add_toxic("off", type="noop")
    reader, writer = await connect(live["listen"])
    status, _, raw = await api.request("POST", "/reset", b"ignored body")
    assert (status, raw) == (204, b"")
    _, proxies = await api.call("GET", "/proxies")
    assert all(p["enabled"] and p["toxics"] == [] for p in proxies.values())
    assert await round_trip(reader, writer, b"fast again") < 1.0
    writer.close()


async def test_reset_fails_500_when_a_proxy_cannot_bind(api: Api, echo: str) -> None:
    first = await api.create_proxy("a", echo)
    await api.set_enabled("a", False)
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", port_of(first["listen"])))
    blocker.listen()
    try:
        await expect_error(
            api,
            "POST",
            "/reset",
            None,
            500,
            f"listen tcp {first['listen']}: bind: address already in use",
        )
    finally:
        blocker.close()


async def test_handlers_survive_concurrent_requests(api: Api, echo: str) -> None:
    results = await asyncio.gather(
        *(
            api.call(
                "POST", "/proxies", {"name": f"c{i}", "listen": "127.0.0.1:0", "upstream": echo}
            )
            for i in range(10)
        ),
        *(
            api.call(
                "POST", "/proxies", {"name": "same", "listen": "127.0.0.1:0", "upstream": echo}
            )
            for _ in range(3)
        ),
    )
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 11 + [409] * 2


async def test_request_ids_differ(api: Api) -> None:
    ids = {(await api.request("GET", "/version"))[1]["X-Toxiproxy-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


async def test_slow_change_answers_503_and_still_completes(
    api: Api, upstream: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chaos.toxiproxy.api as api_module

    monkeypatch.setattr(api_module, "HANDLER_TIMEOUT", 0.2)
    created = await api.create_proxy("p", upstream.address)
    await api.add_toxic("p", type="reset_peer", attributes={"timeout": 1000}, stream="upstream")
    reader, writer = await connect(created["listen"])
    await upstream.accept()
    writer.write(b"fire")
    await asyncio.sleep(0.2)  # nothing to observe: the toxic drops the chunk and waits
    # Removing a fired reset_peer waits out its timer: longer than the handler timeout.
    status, headers, raw = await api.request("DELETE", "/proxies/p/toxics/reset_peer_upstream")
    assert status == 503
    assert raw == b"<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"
    assert "X-Toxiproxy-Request-Id" in headers
    await read_until_closed(reader)  # the timer ran out: the connection is reset
    for _ in range(50):  # the removal itself went on and completed
        _, toxics = await api.call("GET", "/proxies/p/toxics")
        if toxics == []:
            break
        await asyncio.sleep(0.05)
    assert toxics == []
    writer.close()


async def test_unresolvable_listen_names_are_500_json(api: Api, echo: str) -> None:
    for listen in ("a" * 64 + ".example:0", "nul\x00:0"):
        status, headers, raw = await api.request(
            "POST", "/proxies", {"name": "x", "listen": listen, "upstream": echo}
        )
        assert status == 500 and headers["Content-Type"] == "text/plain; charset=utf-8"
        assert json.loads(raw)["error"].startswith("listen tcp: lookup ")


async def test_delete_waits_for_an_update_binding_the_proxy() -> None:
    # Driven on this loop so the interleaving is fixed: the update suspends while it binds,
    # then the delete runs. A deleted proxy must not be left listening.
    collection = ProxyCollection(random.Random(0))
    proxy = await collection.create_json(
        b'{"name":"p","listen":"127.0.0.1:0","upstream":"127.0.0.1:9","enabled":false}'
    )
    await asyncio.gather(collection.update_json("p", b'{"enabled":true}'), collection.remove("p"))
    assert collection.proxies == {} and proxy.enabled is False
