"""Every metric and label a dashboard queries is one of the design's metric names (design §10).

The queries are read from the dashboard JSON (panel targets and template variables) with the
small PromQL reader of ``deploy_support.py``. ``test_services.py`` checks the same queries against
the real ``/metrics`` output of the running processes.
"""

from __future__ import annotations

import re

from deploy_support import Query, design_metric, parse_query


def test_the_reader_sees_selectors_groupings_and_legends() -> None:
    query = parse_query(
        "example",
        "histogram_quantile(0.95, sum by (scenario, le)"
        ' (rate(wschaos_x_bucket{a="1", b=~"$v"}[5m]))) / sum without(z) (wschaos_y)',
        "{{scenario}} p95",
    )
    assert [(s.name, s.matchers) for s in query.selectors] == [
        ("wschaos_x_bucket", [("a", "=", "1"), ("b", "=~", "$v")]),
        ("wschaos_y", []),
    ]
    assert query.grouping == {"scenario", "le", "z"}
    assert query.legend_labels == {"scenario"}
    variable = parse_query("v", "label_values(wschaos_scenario_runs_total, scenario)")
    assert [s.name for s in variable.selectors] == ["wschaos_scenario_runs_total"]
    assert variable.grouping == {"scenario"}


def test_every_query_reads_design_metrics_with_their_labels_and_values(
    queries: list[Query],
) -> None:
    assert queries
    for query in queries:
        assert query.selectors, f"{query.where}: no wschaos metric in {query.expr!r}"
        for selector in query.selectors:
            _, labels = design_metric(selector.name)
            for label, op, value in selector.matchers:
                assert label in labels, f"{query.where}: {selector.name} has no label {label!r}"
                allowed = labels[label]
                if op == "=" and allowed is not None:
                    assert value in allowed, f"{query.where}: {label}={value!r} never occurs"
        for label in query.grouping:
            # A grouping label must exist on every metric it groups, or the series lose it.
            for selector in query.selectors:
                assert label in design_metric(selector.name)[1], (
                    f"{query.where}: groups by {label!r}, which {selector.name} does not have"
                )


def test_legends_name_only_labels_the_query_keeps(queries: list[Query]) -> None:
    for query in queries:
        assert query.legend_labels <= query.grouping, (
            f"{query.where}: the legend names {query.legend_labels - query.grouping}, "
            f"which the aggregation drops"
        )


def test_the_dashboard_has_the_panels_operators_watch(queries: list[Query]) -> None:
    read = {(s.name, label) for q in queries for s in q.selectors for label in q.labels}
    # Reconnect time p50/p95/p99 over time by scenario.
    quantiles = {
        match
        for q in queries
        if "scenario" in q.grouping
        and any(s.name == "wschaos_scenario_reconnect_seconds_bucket" for s in q.selectors)
        for match in re.findall(r"histogram_quantile\((0\.\d+)", q.expr)
    }
    assert {"0.5", "0.95", "0.99"} <= quantiles
    # Query success rate by transport; lost and duplicated queries; disconnects by reason;
    # live connections.
    assert ("wschaos_scenario_queries_total", "transport") in read
    assert any(
        ("outcome", "=", "lost") in s.matchers
        for q in queries
        for s in q.selectors
        if s.name == "wschaos_scenario_queries_total"
    )
    assert any(
        s.name == "wschaos_scenario_duplicated_queries_total" for q in queries for s in q.selectors
    )
    assert ("wschaos_gateway_disconnects_total", "reason") in read
    assert any(s.name == "wschaos_gateway_connections" for q in queries for s in q.selectors)
