"""Running the server: EmbeddedToxiproxy's contract, seeded draws, and ``wschaos toxiproxy``."""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from toxiproxy_support import start_thread_echo

from chaos.toxiproxy import EmbeddedToxiproxy


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


def post(url: str, body: object) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_start_stop_contract() -> None:
    server = EmbeddedToxiproxy(host="127.0.0.1", port=0)
    server.stop()  # before start: harmless
    with pytest.raises(RuntimeError):
        _ = server.url
    assert server.start() is server
    url = server.url
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert get(url + "/version") == b'{"version": "2.12.0"}\n'
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(OSError):
        get(url + "/version")


def test_context_manager_and_busy_port() -> None:
    with EmbeddedToxiproxy() as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            EmbeddedToxiproxy(port=port).start()
        assert get(first.url + "/proxies") == b"{}"


def toxic_pattern(seed: int, upstream: str) -> list[bool]:
    """Which of 8 sequential connections got a toxicity-0.5 latency toxic."""
    with EmbeddedToxiproxy(seed=seed) as server:
        proxy = post(
            server.url + "/proxies",
            {"name": "p", "listen": "127.0.0.1:0", "upstream": upstream},
        )
        post(
            server.url + "/proxies/p/toxics",
            {"type": "latency", "attributes": {"latency": 80}, "toxicity": 0.5},
        )
        port = int(proxy["listen"].rsplit(":", 1)[1])
        pattern = []
        for _ in range(8):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
                start = time.perf_counter()
                client.sendall(b"x")
                assert client.recv(1) == b"x"
                pattern.append(time.perf_counter() - start >= 0.080)
        return pattern


def test_seed_makes_toxicity_draws_reproducible() -> None:
    listener, upstream = start_thread_echo()
    try:
        first = toxic_pattern(99, upstream)
        assert first == toxic_pattern(99, upstream)
        assert True in first and False in first
    finally:
        listener.close()


def run_cli(*args: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chaos", "toxiproxy", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_serves_populates_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "toxiproxy.json"
    config.write_text(
        json.dumps([{"name": "redis", "listen": "127.0.0.1:0", "upstream": "redis:6379"}])
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaos",
            "toxiproxy",
            "--port",
            "0",
            "--populate",
            str(config),
            "--seed",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10)
        assert ready, "no ready line within 10 s"
        line = process.stdout.readline()
        assert line.startswith("toxiproxy: http://127.0.0.1:")
        url = line.split(" ", 1)[1].strip()
        proxies = json.loads(get(url + "/proxies"))
        assert list(proxies) == ["redis"] and proxies["redis"]["enabled"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('[{"name": "x"}]', "missing required field: upstream at proxy 1"),
        (
            "{not json",
            "bad request body: invalid character 'n' looking for beginning of object key string",
        ),
    ],
)
def test_cli_bad_populate_file_exits_2_with_one_line(
    tmp_path: Path, content: str, problem: str
) -> None:
    config = tmp_path / "bad.json"
    config.write_text(content)
    result = run_cli("--port", "0", "--populate", str(config))
    assert result.returncode == 2
    assert result.stderr == f"wschaos toxiproxy: error: {config}: {problem}\n"
    assert result.stdout == ""


def test_cli_unreadable_file_and_busy_port_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    result = run_cli("--populate", str(missing))
    assert result.returncode == 2
    assert result.stderr.startswith(f"wschaos toxiproxy: error: {missing}: cannot read:")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("--port", str(port))
    assert result.returncode == 2
    assert result.stderr.startswith("wschaos toxiproxy: error: --host/--port: 127.0.0.1:")
    assert len(result.stderr.splitlines()) == 1
