"""Fixtures for the deploy tests: the compose file and deploy/ files, parsed, and the dashboards'
queries read with :func:`deploy_support.dashboard_queries`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import Query, dashboard_queries, option

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository root (where docker-compose.yml lives)."""
    return ROOT


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml as a mapping."""
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="session")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compose services by name."""
    return compose["services"]


@pytest.fixture(scope="session")
def prometheus_config() -> dict[str, Any]:
    """deploy/prometheus.yml as a mapping."""
    return yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())


@pytest.fixture(scope="session")
def populate() -> list[dict[str, Any]]:
    """deploy/toxiproxy.json: the populate array loaded into Toxiproxy at start."""
    return json.loads((ROOT / "deploy" / "toxiproxy.json").read_text())


@pytest.fixture(scope="session")
def dashboards() -> dict[str, dict[str, Any]]:
    """Every dashboard JSON under deploy/grafana/dashboards, by file name."""
    folder = ROOT / "deploy" / "grafana" / "dashboards"
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def listening_ports(services: dict[str, dict[str, Any]], populate: list[dict[str, Any]]) -> dict:
    """For each service, the container ports its command listens on, with what each serves.

    Derived from the commands themselves (and the images' documented defaults), so the checks
    below compare the compose file against what the processes really do.
    """
    emulator = services["emulator"]["command"]
    toxiproxy = services["toxiproxy"]["command"]
    runner = services["runner"]["command"]
    return {
        "emulator": {
            int(option(emulator, "--port") or 3001): "websocket",
            int(option(emulator, "--rest-port") or 3000): "rest",
        },
        "toxiproxy": {
            int(option(toxiproxy, "-port") or 8474): "api",
            **{int(proxy["listen"].rsplit(":", 1)[1]): proxy["name"] for proxy in populate},
        },
        "runner": {int(option(runner, "--metrics-port")): "metrics"},
        "prometheus": {9090: "web"},
        "grafana": {
            int(services["grafana"].get("environment", {}).get("GF_SERVER_HTTP_PORT", 3000)): "web"
        },
    }


@pytest.fixture(scope="session")
def ports(services: dict[str, dict[str, Any]], populate: list[dict[str, Any]]) -> dict:
    """:func:`listening_ports` of the compose file."""
    return listening_ports(services, populate)


@pytest.fixture(scope="session")
def queries(dashboards: dict[str, dict[str, Any]]) -> list[Query]:
    """Every query of every dashboard, read."""
    return dashboard_queries(dashboards)
