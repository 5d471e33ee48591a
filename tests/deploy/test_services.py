"""docker-compose.yml's services, run here as local processes, serve what the dashboards query.

Docker cannot run in the test environment, so each compose service is run from its own
``command``: ``wschaos emulator`` as compose runs it, the embedded Toxiproxy loaded with
deploy/toxiproxy.json (the real image's ``-host``/``-config`` flags translated to ``wschaos
toxiproxy``), and the soak runner pointed at both through ``--emulator``, ``TOXIPROXY_URL`` and
``--upstream-host``. The test then scrapes every target of deploy/prometheus.yml and checks that
every metric and label each dashboard panel queries appears in that real output.

Each service gets its own loopback address (127.0.0.2, 127.0.0.3, ...) in place of its container,
and its wildcard binds (``0.0.0.0``) become that address: a service that would only listen on its
own container's 127.0.0.1 is unreachable here too, as it would be under compose. Compose ports
are mapped to free local ports. All traffic stays on loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_support import Query, option
from prometheus_client.parser import text_string_to_metric_families

#: Real seconds the stack may take to start, and the runner to finish its first scenario run.
STARTUP = 30.0
#: A quick scenario for the runner: a deploy closes the connection, the next query reconnects.
#: (It waits for "disconnected", which the client enters only once it has seen the close.)
SMOKE_SCENARIO = """\
name: deploy-smoke
description: A deploy closes the connection; the next query reconnects over WebSocket.
time_scale: 60
steps:
  - connect
  - query: {expect: {transport: websocket}}
  - close_connections: {code: 1001, reason: Going away}
  - expect_status: {status: disconnected, within: 60s}
  - query: {expect: {transport: websocket, reconnects: 1}}
"""
#: On the runner's /metrics once a scenario run has finished.
RUN_SERIES = "wschaos_scenario_runs_total{"

pytestmark = pytest.mark.timeout(120)


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Localizer:
    """Maps compose service names to loopback addresses and compose ports to local ports.

    Args:
        services: the compose service names; each gets its own 127.0.0.N.
    """

    def __init__(self, services: list[str]) -> None:
        self.hosts = {name: f"127.0.0.{index}" for index, name in enumerate(services, 2)}
        self.ports: dict[int, int] = {}

    def address(self, address: str, owner: str) -> str:
        """``service:port``, or ``0.0.0.0:port`` bound by ``owner``, as a local address."""
        host, port = address.rsplit(":", 1)
        return f"{self.host(host, owner)}:{self.ports[int(port)]}"

    def host(self, host: str, owner: str) -> str:
        """A service name, or the wildcard bound by ``owner``, as a loopback address."""
        if host == "0.0.0.0":
            return self.hosts[owner]
        return self.hosts[host]

    def arg(self, arg: str, owner: str) -> str:
        """One argument or environment value of ``owner``'s container, localized."""
        if arg == "0.0.0.0" or arg in self.hosts:
            return self.host(arg, owner)
        if arg.isdigit() and int(arg) in self.ports:
            return str(self.ports[int(arg)])
        names = "|".join(map(re.escape, [*self.hosts, "0.0.0.0"]))

        def url(match: re.Match[str]) -> str:  # scheme://service[:port]
            port = f":{self.ports[int(match.group(2))]}" if match.group(2) else ""
            return f"//{self.host(match.group(1), owner)}{port}"

        return re.sub(rf"//({names})(?::(\d+))?", url, arg)

    def command(self, command: list[str], owner: str) -> list[str]:
        """``owner``'s compose ``command`` (``wschaos`` arguments), localized."""
        return [command[0], *(self.arg(arg, owner) for arg in command[1:])]


class Process:
    """A ``wschaos`` subprocess whose output lines can be awaited with a deadline."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chaos", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = STARTUP) -> re.Match[str]:
        """The first output line matching ``pattern``; fails after ``timeout`` real seconds."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if match := re.search(pattern, line):
                return match
        pytest.fail(f"wschaos {' '.join(self.args)}: no {pattern!r}:\n{''.join(self.output)}")

    def stop(self) -> None:
        """SIGINT (the runner finishes its scenario), then a bounded wait, then kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def fetch(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def wait_http(url: str, process: Process, timeout: float = STARTUP) -> str:
    """``url``'s body once it answers; fails if ``process`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fetch(url)
        except OSError:
            if process.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{url} never answered:\n{''.join(process.output)}")
            time.sleep(0.1)


def samples(text: str) -> dict[str, list[dict[str, str]]]:
    """Sample name -> the label sets it has in a /metrics page."""
    found: dict[str, list[dict[str, str]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(dict(sample.labels))
    return found


def toxiproxy_args(command: list[str], populate_file: Path, local: Localizer) -> list[str]:
    """The real image's flags (``-host=``, ``-port=``, ``-config=``) as ``wschaos toxiproxy``."""
    flags = dict(arg.lstrip("-").split("=", 1) for arg in command)
    assert set(flags) <= {"host", "port", "config"}, command
    return [
        "toxiproxy",
        "--host",
        local.arg(flags["host"], "toxiproxy"),
        "--port",
        str(local.ports[int(flags.get("port", 8474))]),
        "--populate",
        str(populate_file),
    ]


@pytest.fixture(scope="module")
def stack(
    services: dict[str, Any], populate: list[dict[str, Any]], tmp_path_factory: Any
) -> Iterator[dict[str, Any]]:
    """The compose stack's local services, running; yields what the checks need."""
    tmp = tmp_path_factory.mktemp("stack")
    local = Localizer(list(services))
    started: list[Process] = []
    try:
        # emulator: its compose command on port 0; the ready line names the real ports.
        command = services["emulator"]["command"]
        compose_ports = [int(option(command, o)) for o in ("--port", "--rest-port")]
        local.ports.update(dict.fromkeys(compose_ports, 0))
        emulator = Process(local.command(command, "emulator"))
        started.append(emulator)
        ready = emulator.wait_for(r"emulator: ws://[^:]+:(\d+)/\S+ rest: http://[^:]+:(\d+)/")
        local.ports.update(zip(compose_ports, map(int, ready.groups()), strict=True))

        # toxiproxy: the populate file with compose names and ports mapped.
        toxiproxy_host = local.hosts["toxiproxy"]
        for proxy in populate:
            local.ports[int(proxy["listen"].rsplit(":", 1)[1])] = free_port(toxiproxy_host)
        local.ports[8474] = free_port(toxiproxy_host)
        populate_file = tmp / "toxiproxy.json"
        localized = [
            {
                **proxy,
                "listen": local.address(proxy["listen"], "toxiproxy"),
                "upstream": local.address(proxy["upstream"], "toxiproxy"),
            }
            for proxy in populate
        ]
        populate_file.write_text(json.dumps(localized))
        toxiproxy = Process(toxiproxy_args(services["toxiproxy"]["command"], populate_file, local))
        started.append(toxiproxy)
        toxiproxy_url = f"http://{toxiproxy_host}:{local.ports[8474]}"
        wait_http(f"{toxiproxy_url}/version", toxiproxy)

        # runner: its compose command and environment, plus the quick scenario. Its metrics
        # endpoint binds every interface by default (as compose needs); here only its address.
        command = services["runner"]["command"]
        local.ports[int(option(command, "--metrics-port"))] = free_port(local.hosts["runner"])
        scenario = tmp / "deploy-smoke.yaml"
        scenario.write_text(SMOKE_SCENARIO)
        env = {k: local.arg(v, "runner") for k, v in services["runner"]["environment"].items()}
        runner = Process(
            [
                *local.command(command, "runner"),
                "--metrics-host",
                local.hosts["runner"],
                str(scenario),
            ],
            env=env,
        )
        started.append(runner)
        yield {"local": local, "toxiproxy_url": toxiproxy_url, "runner": runner}
    finally:
        for process in reversed(started):
            process.stop()


def test_populate_proxies_reach_the_emulator(
    stack: dict[str, Any], populate: list[dict[str, Any]], services: dict[str, Any]
) -> None:
    local: Localizer = stack["local"]
    proxies = json.loads(fetch(f"{stack['toxiproxy_url']}/proxies"))
    assert set(proxies) == {proxy["name"] for proxy in populate}
    command = services["emulator"]["command"]
    stage = option(command, "--stage")
    for proxy in populate:
        assert proxies[proxy["name"]]["enabled"] is True
        address = local.address(proxy["listen"], "toxiproxy")
        # Through the proxy to the emulator's /metrics (both of its ports serve it).
        assert "wschaos_gateway_connections" in fetch(f"http://{address}/metrics"), proxy
    # The websocket proxy leads to the WebSocket API: a GET without upgrade there gets 426.
    websocket_port = option(command, "--port")
    (websocket,) = [p for p in populate if p["upstream"] == f"emulator:{websocket_port}"]
    address = local.address(websocket["listen"], "toxiproxy")
    with pytest.raises(urllib.error.HTTPError) as answer:
        fetch(f"http://{address}/{stage}")
    assert answer.value.code == 426


@pytest.fixture(scope="module")
def pages(stack: dict[str, Any], prometheus_config: dict[str, Any]) -> dict[str, str]:
    """Every target of deploy/prometheus.yml, scraped once the runner finished a scenario run
    (so the emulator has served it too)."""
    local: Localizer = stack["local"]
    runner: Process = stack["runner"]
    urls = {
        target: f"http://{local.address(target, 'prometheus')}{job.get('metrics_path', '/metrics')}"
        for job in prometheus_config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    (runner_url,) = [url for target, url in urls.items() if target.startswith("runner:")]
    deadline = time.monotonic() + STARTUP
    while True:
        with contextlib.suppress(OSError):
            if RUN_SERIES in fetch(runner_url):
                break
        output = "".join(runner.output)
        assert runner.proc.poll() is None, f"the runner exited:\n{output}"
        assert time.monotonic() < deadline, f"no scenario run finished:\n{output}"
        time.sleep(0.2)
    return {target: fetch(url) for target, url in urls.items()}


def test_the_soak_runner_passes_through_the_compose_topology(
    stack: dict[str, Any], pages: dict[str, str]
) -> None:
    # Toxiproxy in its own "container": the runner's per-scenario proxies must be reachable at
    # TOXIPROXY_URL's host, and Toxiproxy must reach the emulator at --upstream-host.
    (runner_page,) = [page for target, page in pages.items() if target.startswith("runner:")]
    runs = {
        labels["outcome"]: value
        for family in text_string_to_metric_families(runner_page)
        for name, labels, value, *_ in family.samples
        if name == "wschaos_scenario_runs_total"
    }
    output = "".join(stack["runner"].output)
    assert runs.get("passed", 0) >= 1 and runs.get("failed", 0) == 0, output


def test_every_panel_metric_and_label_is_in_the_real_metrics(
    pages: dict[str, str], queries: list[Query]
) -> None:
    found: dict[str, list[dict[str, str]]] = {}
    for page in pages.values():
        for name, label_sets in samples(page).items():
            found.setdefault(name, []).extend(label_sets)

    for query in queries:
        for selector in query.selectors:
            assert selector.name in found, (
                f"{query.where}: {selector.name} is not scraped (scraped: {sorted(found)})"
            )
            present = set().union(*(labels.keys() for labels in found[selector.name]))
            wanted = {label for label, _, _ in selector.matchers} | query.grouping
            assert wanted <= present, (
                f"{query.where}: {selector.name} has no label {sorted(wanted - present)}"
            )
