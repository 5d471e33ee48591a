"""Running against services that already run, as docker compose does: ``TOXIPROXY_URL`` (a
``wschaos toxiproxy`` subprocess), ``--emulator URL`` and ``--upstream-host``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.cli import main
from emulator import EmulatorServer
from scenarios import suite_path

pytestmark = pytest.mark.timeout(120)

SCENARIO = suite_path() / "manual-reconnect.yaml"


@pytest.fixture
def toxiproxy_url() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chaos", "toxiproxy", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the ready line; the process exits on a bad start
        match = re.match(r"toxiproxy: (http://127\.0\.0\.1:\d+)$", line.strip())
        assert match, f"no ready line: {line!r} {process.stderr.read() if process.stderr else ''}"
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_scenario_runs_through_toxiproxy_url_against_a_running_emulator(
    toxiproxy_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", toxiproxy_url)
    report = tmp_path / "run.json"
    # As compose runs it: a running emulator at time scale 1; the runner scales for itself.
    with EmulatorServer() as emulator:
        status = main(
            [
                "run",
                str(suite_path() / "half-open.yaml"),
                "--emulator",
                emulator.ws_url,
                "--emulator-rest-port",
                str(emulator.rest_port),
                "--upstream-host",
                "127.0.0.1",
                "--json",
                str(report),
                "-q",
            ]
        )
        captured = capsys.readouterr()
        assert status == 0, captured.out + captured.err
    data = json.loads(report.read_text())
    [scenario] = data["scenarios"]
    assert scenario["outcome"] == "passed"
    assert [q["transport"] for q in scenario["queries"]] == ["websocket", "rest", "websocket"]
    # The run's proxies were created on the external Toxiproxy and removed afterwards.
    with urllib.request.urlopen(f"{toxiproxy_url}/proxies", timeout=10) as answer:
        assert json.loads(answer.read()) == {}


def test_unreachable_running_services_are_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TOXIPROXY_URL", f"http://127.0.0.1:{port}")
    with EmulatorServer() as emulator:
        status = main(["run", str(SCENARIO), "--emulator", emulator.ws_url, "-q"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"wschaos run: error: TOXIPROXY_URL: 'http://127.0.0.1:{port}': ")
    assert err.count("\n") == 1

    monkeypatch.delenv("TOXIPROXY_URL")
    status = main(["run", str(SCENARIO), "--emulator", f"ws://127.0.0.1:{port}/prod", "-q"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"wschaos run: error: --emulator: 'http://127.0.0.1:{port}': ")
