"""Helpers shared by the deployment tests: reading the services' command lines, and a small PromQL
reader for the dashboards' queries (metric selectors with their label matchers, ``by``/``without``
groupings, ``label_values(...)`` and ``{{label}}`` legends) with the metrics of design §10."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DESIGN_METRICS",
    "Query",
    "Selector",
    "dashboard_queries",
    "design_metric",
    "option",
    "parse_query",
]


def option(command: list[str], name: str) -> str | None:
    """The value of ``--name VALUE``, ``--name=VALUE`` or Go-style ``-name=VALUE``."""
    for index, arg in enumerate(command):
        if arg == name and index + 1 < len(command):
            return command[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


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
