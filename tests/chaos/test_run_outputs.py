"""``wschaos run`` end to end on two quick built-in scenarios: every output, gates and exit status,
the Pushgateway push and the /metrics scrape against loopback receivers, and ``--repeat 0``."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chaos.cli import main
from scenarios import suite_path

pytestmark = pytest.mark.timeout(120)

QUICK = [str(suite_path() / "manual-reconnect.yaml"), str(suite_path() / "gateway-deploy.yaml")]


@pytest.fixture
def pushgateway() -> Iterator[tuple[str, list[tuple[str, str, str]]]]:
    """A loopback receiver recording every request: (method, path, body)."""
    received: list[tuple[str, str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received.append(("PUT", self.path, self.rfile.read(length).decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_every_output_is_written_and_gates_decide_the_exit_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    pushgateway: tuple[str, list[tuple[str, str, str]]],
) -> None:
    url, received = pushgateway
    out = tmp_path / "reports"
    status = main(
        [
            "run",
            *QUICK,
            "--seed",
            "3",
            "--junit",
            str(out / "junit.xml"),
            "--json",
            str(out / "run.json"),
            "--metrics-file",
            str(out / "run.prom"),
            "--pushgateway",
            url,
            "--gate",
            "success_rate >= 0.99",
            "--gate",
            "lost_queries == 0",
            "--gate",
            "reconnect_p95 <= 30s",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0, captured.out + captured.err
    # The summary on stdout; progress on stderr (plain lines: not a TTY).
    assert captured.out.splitlines()[0].split()[:2] == ["scenario", "outcome"]
    assert "  success_rate >= 0.99: observed 1.000, met" in captured.out.splitlines()
    assert "running 2 scenarios, 1x" in captured.err
    assert "passed manual-reconnect" in captured.err

    data = json.loads((out / "run.json").read_text())
    assert (data["schema"], data["passed"], data["seed"]) == ("wschaos.run/1", True, 3)
    assert [s["name"] for s in data["scenarios"]] == ["manual-reconnect", "gateway-deploy"]
    assert [g["passed"] for g in data["gates"]] == [True, True, True]
    assert data["totals"]["reconnects"] == 2

    junit = ET.parse(out / "junit.xml").getroot()
    assert (junit.get("tests"), junit.get("failures")) == ("5", "0")

    families = {f.name: f for f in text_string_to_metric_families((out / "run.prom").read_text())}
    # Run, client and gateway metrics in one registry.
    assert {
        "wschaos_scenario_runs",
        "wschaos_scenario_queries",
        "wschaos_client_queries",
        "wschaos_gateway_connects",
    } <= set(families)

    [(method, path, body)] = received
    assert (method, path) == ("PUT", "/metrics/job/wschaos")
    assert 'wschaos_scenario_runs_total{outcome="passed",scenario="gateway-deploy"} 1.0' in body


def test_an_unmet_gate_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["run", QUICK[0], "-q", "--gate", "fallback_rate >= 0.5"])
    captured = capsys.readouterr()
    assert status == 1
    assert "  fallback_rate >= 0.5: observed 0.000, NOT met" in captured.out.splitlines()
    assert captured.err == ""  # -q: nothing but the summary


def test_a_failing_scenario_is_exit_1_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(
        "name: wrong\ndescription: Expects REST where the WebSocket answers.\n"
        "steps: [connect, {query: {expect: {transport: rest}}}]\n"
    )
    status = main(["run", str(path), "-q"])
    out = capsys.readouterr().out
    assert status == 1
    assert re.search(
        r"^  wrong: step 2 \(query\): expected an answer over rest, observed answered over "
        r"websocket after \d",
        out,
        re.M,
    )


def broken_factory(settings: object) -> object:
    """A ``--client`` factory that cannot build a client."""
    raise RuntimeError("no client today")


def test_a_client_that_cannot_be_built_fails_each_scenario_with_the_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["run", *QUICK, "-q", "--client", f"{__name__}:broken_factory"])
    out = capsys.readouterr().out
    assert status == 1
    for name in ("manual-reconnect", "gateway-deploy"):
        assert (
            f"  {name}: client: expected a working client adapter, "
            "observed error: RuntimeError: no client today"
        ) in out.splitlines()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as answer:
        text = answer.read().decode()
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_repeat_0_runs_until_stopped_and_serves_metrics_meanwhile() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "chaos", "run", QUICK[0], "--repeat", "0",
            "--metrics-port", str(port), "--metrics-host", "127.0.0.1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    key = "wschaos_scenario_runs_total[('outcome', 'passed'), ('scenario', 'manual-reconnect')]"
    try:
        deadline = time.monotonic() + 60
        passes = 0.0
        while passes < 3 and time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # not listening yet
                passes = scrape(f"http://127.0.0.1:{port}/metrics").get(key, 0.0)
            time.sleep(0.1)
        assert passes >= 3, "the soak did not pass 3 times within 60 s"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # Stopped after the scenario in progress: a summary of what ran, exit by its results.
    assert process.returncode == 0, err
    assert "stopping after the current scenario" in err
    assert "(interrupted)" in out
    assert re.search(r"^manual-reconnect #3 +passed", out, re.M)
