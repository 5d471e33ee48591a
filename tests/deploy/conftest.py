"""Fixtures for the deploy tests: the compose file and deploy/ files, parsed, and a small PromQL
reader for the dashboards' queries (metric selectors with their label matchers, ``by``/``without``
groupings, ``label_values(...)`` and ``{{label}}`` legends)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_support import option

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


#: Design §10: metric -> {label: allowed values (None = any)}. Histograms are marked by kind.
COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"
DESIGN_METRICS: dict[str, tuple[str, dict[str, frozenset[str] | None]]] = {
    "wschaos_client_connect_attempts_total": (
        COUNTER,
        {"outcome": frozenset({"success", "refused", "rejected", "timeout"})},
    ),
    "wschaos_client_reconnects_total": (
        COUNTER,
        {"trigger": frozenset({"unclean_close", "pong_timeout", "query", "manual"})},
    ),
    "wschaos_client_reconnect_seconds": (HISTOGRAM, {}),
    "wschaos_client_queries_total": (
        COUNTER,
        {
            "transport": frozenset({"websocket", "rest"}),
            "outcome": frozenset({"answered", "errored"}),
        },
    ),
    "wschaos_client_state": (
        GAUGE,
        {"state": frozenset({"connected", "connecting", "reconnecting", "disconnected", "failed"})},
    ),
    "wschaos_gateway_connections": (GAUGE, {}),
    "wschaos_gateway_connects_total": (COUNTER, {"status": None}),
    "wschaos_gateway_disconnects_total": (
        COUNTER,
        {
            "reason": frozenset(
                {"client", "idle_timeout", "max_duration", "deleted", "fault", "error"}
            )
        },
    ),
    "wschaos_gateway_messages_total": (COUNTER, {"route": None}),
    "wschaos_gateway_management_requests_total": (COUNTER, {"method": None, "status": None}),
    "wschaos_scenario_runs_total": (
        COUNTER,
        {"scenario": None, "outcome": frozenset({"passed", "failed"})},
    ),
    "wschaos_scenario_duration_seconds": (GAUGE, {"scenario": None}),
    "wschaos_scenario_reconnect_seconds": (HISTOGRAM, {"scenario": None}),
    "wschaos_scenario_queries_total": (
        COUNTER,
        {
            "scenario": None,
            "transport": frozenset({"websocket", "rest"}),
            "outcome": frozenset({"answered", "errored", "lost"}),
        },
    ),
    # Beyond design §10, which has no series for duplicated queries (see chaos/metrics.py).
    "wschaos_scenario_duplicated_queries_total": (COUNTER, {"scenario": None}),
}


@dataclass
class Selector:
    """One metric selector: ``name{label op "value", ...}``."""

    name: str
    matchers: list[tuple[str, str, str]]


@dataclass
class Query:
    """What one PromQL expression reads, as far as the dashboards' simple queries go."""

    where: str
    expr: str
    selectors: list[Selector]
    grouping: set[str]
    legend_labels: set[str] = field(default_factory=set)

    @property
    def labels(self) -> set[str]:
        """Every label the expression names (matchers and groupings)."""
        return self.grouping | {label for s in self.selectors for label, _, _ in s.matchers}


SELECTOR = re.compile(r"\b(wschaos_[a-zA-Z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
LABEL_VALUES = re.compile(r"label_values\(\s*(wschaos_[a-zA-Z0-9_]+)[^,]*,\s*([a-zA-Z_]\w*)\s*\)")
LEGEND = re.compile(r"\{\{\s*([a-zA-Z_]\w*)\s*\}\}")


def parse_query(where: str, expr: str, legend: str = "") -> Query:
    """Read the selectors, groupings and legend labels of ``expr``."""
    selectors = [
        Selector(name, MATCHER.findall(body or "")) for name, body in SELECTOR.findall(expr)
    ]
    grouping = {
        label.strip() for group in GROUPING.findall(expr) for label in group.split(",") if label
    }
    # label_values(metric, label): the selector is found above; the label is what it keeps.
    grouping.update(label for _, label in LABEL_VALUES.findall(expr))
    return Query(where, expr, selectors, grouping, set(LEGEND.findall(legend)))


def dashboard_queries(dashboards: dict[str, dict[str, Any]]) -> list[Query]:
    """Every query of every panel and template variable."""
    queries = []
    for file, dashboard in dashboards.items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                where = f"{file}: panel {panel['title']!r} {target['refId']}"
                queries.append(parse_query(where, target["expr"], target.get("legendFormat", "")))
        for variable in dashboard.get("templating", {}).get("list", []):
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            queries.append(parse_query(f"{file}: variable {variable['name']!r}", text))
    return queries


def design_metric(sample: str) -> tuple[str, dict[str, frozenset[str] | None]]:
    """The design's metric a sample name belongs to, with its labels (``le`` for buckets)."""
    if sample in DESIGN_METRICS:
        return sample, DESIGN_METRICS[sample][1]
    base, _, suffix = sample.rpartition("_")
    if base in DESIGN_METRICS and DESIGN_METRICS[base][0] == HISTOGRAM:
        if suffix == "bucket":
            return base, {**DESIGN_METRICS[base][1], "le": None}
        if suffix in ("sum", "count"):
            return base, DESIGN_METRICS[base][1]
    raise AssertionError(f"{sample} is not a metric of design §10")


@pytest.fixture(scope="session")
def queries(dashboards: dict[str, dict[str, Any]]) -> list[Query]:
    """Every query of every dashboard, read."""
    return dashboard_queries(dashboards)


@pytest.fixture(scope="session")
def promql() -> Callable[..., Query]:
    """:func:`parse_query`, for tests of the reader itself."""
    return parse_query


@pytest.fixture(scope="session")
def design_metrics() -> Callable[[str], tuple[str, dict[str, frozenset[str] | None]]]:
    """:func:`design_metric`: the design's metric (and labels) a sample name belongs to."""
    return design_metric
