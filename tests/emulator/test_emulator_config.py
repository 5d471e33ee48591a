"""The API config: defaults, validation naming file/key/value, overrides; and `wschaos emulator`."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from emulator_test_support import SOON

from chaos.cli import main
from emulator import ApiConfig, ConfigError, load_config
from emulator.config import SAMPLE_ROUTES


def test_default_config_is_the_sample_api() -> None:
    config = ApiConfig()
    assert config.stage == "prod"
    assert config.route_selection_expression == "$request.body.action"
    assert (config.idle_timeout, config.max_connection_duration, config.integration_timeout) == (
        600.0, 7200.0, 29.0,
    )  # fmt: skip
    assert config.ping_frames_reset_idle is False
    assert (config.limits.frame_bytes, config.limits.message_bytes) == (32768, 131072)
    assert config.limits.new_connections_per_second == 500
    assert dict(config.routes or {}) == dict(SAMPLE_ROUTES)
    assert set(config.two_way_routes or ()) == {"ping", "$default"}
    assert list(config.rest or {}) == ["POST /query"]
    assert ApiConfig.from_mapping({}) == config
    assert ApiConfig.from_mapping({"idle_timeout": "5m"}).routes == config.routes


def test_a_config_with_its_own_routes_has_no_sample_parts() -> None:
    config = ApiConfig.from_mapping({"routes": {"$default": "emulator_test_handlers:echo"}})
    assert dict(config.routes or {}) == {"$default": "emulator_test_handlers:echo"}
    assert config.two_way_routes == () and dict(config.rest or {}) == {}


def test_yaml_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(
        "stage: dev\nidle_timeout: 30s\nintegration_timeout: 250ms\n"
        "limits: {frame_bytes: 1000}\n"
        "authorizer: {handler: 'emulator_test_handlers:authorize', "
        "identity_sources: [route.request.querystring.token]}\n"
        "routes: {$default: 'emulator_test_handlers:echo', ping: 'emulator_test_handlers:aecho'}\n"
        "two_way_routes: [ping]\n"
        "rest: {'GET /items/{id}': 'emulator_test_handlers:record'}\n"
    )
    config = load_config(path)
    assert (config.stage, config.idle_timeout, config.integration_timeout) == ("dev", 30.0, 0.25)
    assert config.limits.frame_bytes == 1000 and config.limits.message_bytes == 131072
    assert config.authorizer is not None
    assert config.authorizer.identity_sources == ("route.request.querystring.token",)
    assert ApiConfig.from_mapping(config.to_mapping()) == config


@pytest.mark.parametrize(
    ("data", "key", "value"),
    [
        ({"idle_timout": "10m"}, "idle_timout", "10m"),
        ({"idle_timeout": "10 minutes"}, "idle_timeout", "10 minutes"),
        ({"integration_timeout": 0}, "integration_timeout", 0),
        ({"max_connection_duration": "0s"}, "max_connection_duration", "0s"),
        ({"stage": "has space"}, "stage", "has space"),
        ({"stage": "_wschaos"}, "stage", "_wschaos"),
        ({"ping_frames_reset_idle": "yes"}, "ping_frames_reset_idle", "yes"),
        ({"limits": {"frame_bytes": -1}}, "limits.frame_bytes", -1),
        ({"limits": {"frames": 1}}, "limits.frames", 1),
        ({"route_selection_expression": "$context.x"}, "route_selection_expression", "$context.x"),
        ({"routes": {"ping": "nosuch_mod_q:f"}}, "routes.ping", "nosuch_mod_q:f"),
        ({"routes": {"ping": "no_colon"}}, "routes.ping", "no_colon"),
        ({"routes": {"$custom": "emulator_test_handlers:echo"}}, "routes.$custom", "$custom"),
        ({"two_way_routes": ["nope"]}, "two_way_routes", "nope"),
        ({"two_way_routes": [["$default"]]}, "two_way_routes", ["$default"]),
        ({"limits": {"new_connections_per_second": 0}}, "limits.new_connections_per_second", 0),
        ({"rest": {"FETCH /x": "emulator_test_handlers:echo"}}, "rest", "FETCH /x"),
        ({"rest": {"GET /{p+}/x": "emulator_test_handlers:echo"}}, "rest", "GET /{p+}/x"),
        ({"rest": {"GET /a{id}": "emulator_test_handlers:echo"}}, "rest", "GET /a{id}"),
        ({"authorizer": {"identity_sources": []}}, "authorizer.handler", None),
        (
            {
                "authorizer": {
                    "handler": "emulator_test_handlers:authorize",
                    "identity_sources": ["x"],
                }
            },
            "authorizer.identity_sources",
            "x",
        ),
    ],
)
def test_bad_values_name_source_key_and_value(data: dict, key: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        ApiConfig.from_mapping(data, source="api.yaml")
    error = info.value
    assert (error.source, error.key, error.value) == ("api.yaml", key, value)
    assert str(error).startswith(f"api.yaml: {key}: {value!r}: ")


def test_overrides_merge_limits_and_name_their_source() -> None:
    config = ApiConfig().with_overrides({"limits": {"frame_bytes": 10}, "idle_timeout": "1m"})
    assert config.limits.frame_bytes == 10 and config.limits.message_bytes == 131072
    assert config.idle_timeout == 60.0
    with pytest.raises(ConfigError, match=r"^scenario x: idle_timeout: 'soon': "):
        ApiConfig().with_overrides({"idle_timeout": "soon"}, source="scenario x")


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: line"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        load_config(tmp_path / "missing.yaml")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"stage: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin\.yaml: \(file\): .*not UTF-8"):
        load_config(latin)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("bogus: 1\n", "bogus: 1: unknown key"),
        ("idle_timeout: 10x\n", "idle_timeout: '10x': not a duration"),
        ("routes: {ping: 'nosuch_mod_z:f'}\n", "routes.ping: 'nosuch_mod_z:f': cannot import"),
        ("route_selection_expression: ${request.body\n", "route_selection_expression:"),
    ],
)
def test_cli_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    path = tmp_path / "api.yaml"
    path.write_text(content)
    assert main(["emulator", "--config", str(path), "--port", "0", "--rest-port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"wschaos emulator: error: {path}: ") and needle in err


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (["--port", "4000", "--rest-port", "4000"], "--rest-port: 4000: the same port as --port"),
        (["--stage", "a b"], "--stage: stage: 'a b': must be"),
    ],
)
def test_cli_bad_options_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], options: list[str], needle: str
) -> None:
    assert main(["emulator", *options]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("wschaos emulator: error: ") and needle in err


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--port", "70000"], "argument --port: '70000': a port is 0-65535"),
        (["--rest-port", "x"], "argument --rest-port: 'x': not a port number"),
        (["--time-scale", "0"], "argument --time-scale: '0': must be a positive number"),
    ],
)
def test_cli_bad_values_are_usage_errors(
    capsys: pytest.CaptureFixture[str], options: list[str], problem: str
) -> None:
    # The same words as every other subcommand's (chaos.commands._argtypes), exit 2.
    with pytest.raises(SystemExit) as raised:
        main(["emulator", *options])
    assert raised.value.code == 2
    assert capsys.readouterr().err.endswith(f"wschaos emulator: error: {problem}\n")


def test_cli_port_in_use_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["emulator", "--port", str(port), "--rest-port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wschaos emulator: error: ") and "cannot listen" in err
    assert err.count("\n") == 1


def test_cli_prints_the_ready_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos", "emulator", "--port", "0", "--rest-port", "0",
         "--stage", "dev", "--time-scale", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], SOON * 2)
        assert readable, "no ready line within the bound"
        line = process.stdout.readline()  # printed whole and flushed: no partial line to wait on
        assert (
            line.startswith("emulator: ws://127.0.0.1:") and "/dev rest: http://127.0.0.1:" in line
        )
        assert line.rstrip().endswith("/dev")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=SOON * 2) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
