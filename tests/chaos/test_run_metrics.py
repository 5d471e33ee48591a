"""Run metrics (design §10) and their exports: file, /metrics scrape, Pushgateway push."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from chaos.errors import UserError
from chaos.metrics import MetricsExporter, RunMetrics, push_metrics, write_metrics_file
from chaos.outcomes import ANSWERED, ERRORED, LOST, Failure, Figures, QueryRecord, ScenarioResult


def result(name: str, *, passed: bool, reconnects: list[float]) -> ScenarioResult:
    records = [
        QueryRecord("1", "a", ANSWERED, "websocket", 0.1, 0),
        QueryRecord("2", "b", ANSWERED, "rest", 0.1, 0),
        QueryRecord("3", "c", ERRORED, None, 0.1, 0),
        QueryRecord("4", "d", LOST, None, 0.1, 0),
        QueryRecord("5", "e", ERRORED, None, 0.1, 0, expected="error"),  # not counted
    ]
    outcome = ScenarioResult(name, "", f"{name}.yaml", 1, 60.0, records=records, duration=1.5)
    outcome.figures = Figures.from_records(records, reconnect_times=reconnects)
    outcome.figures.duplicated = 0 if passed else 3
    if not passed:
        outcome.failures.append(Failure("1", "query", "x", "y"))
    return outcome


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return samples(registry).get((name, tuple(sorted(labels.items()))))


def test_record_counts_runs_durations_reconnects_and_queries() -> None:
    registry = CollectorRegistry()
    metrics = RunMetrics(registry)
    metrics.record(result("cut", passed=True, reconnects=[0.02, 0.3]))
    metrics.record(result("cut", passed=False, reconnects=[]))

    assert value(registry, "wschaos_scenario_runs_total", scenario="cut", outcome="passed") == 1
    assert value(registry, "wschaos_scenario_runs_total", scenario="cut", outcome="failed") == 1
    assert value(registry, "wschaos_scenario_duration_seconds", scenario="cut") == 1.5
    assert value(registry, "wschaos_scenario_duplicated_queries_total", scenario="cut") == 3
    assert value(registry, "wschaos_scenario_reconnect_seconds_count", scenario="cut") == 2
    assert value(registry, "wschaos_scenario_reconnect_seconds_sum", scenario="cut") == 0.32
    assert (
        value(registry, "wschaos_scenario_reconnect_seconds_bucket", scenario="cut", le="0.025")
        == 1
    )
    queries = {
        (dict(labels)["outcome"], dict(labels)["transport"]): count
        for (name, labels), count in samples(registry).items()
        if name == "wschaos_scenario_queries_total"
    }
    # Unanswered queries carry the websocket label; the expected error is not counted.
    assert queries == {
        ("answered", "websocket"): 2,
        ("errored", "websocket"): 2,
        ("lost", "websocket"): 2,
        ("answered", "rest"): 2,
        ("errored", "rest"): 0,
        ("lost", "rest"): 0,
    }


def test_two_runs_live_in_one_process_on_separate_registries() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    RunMetrics(first).record(result("a", passed=True, reconnects=[]))
    RunMetrics(second)
    assert value(second, "wschaos_scenario_runs_total", scenario="a", outcome="passed") is None


def test_metrics_file_is_prometheus_text(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    RunMetrics(registry).record(result("idle", passed=True, reconnects=[0.1]))
    path = tmp_path / "deep" / "run.prom"
    write_metrics_file(path, registry)
    families = {f.name: f for f in text_string_to_metric_families(path.read_text())}
    assert {
        "wschaos_scenario_runs",
        "wschaos_scenario_duration_seconds",
        "wschaos_scenario_reconnect_seconds",
        "wschaos_scenario_queries",
    } <= set(families)
    with pytest.raises(UserError, match=r"--metrics-file: .*: cannot write"):
        write_metrics_file(tmp_path / "deep" / "run.prom" / "x", registry)


async def test_exporter_serves_the_registry_over_http() -> None:
    registry = CollectorRegistry()
    metrics = RunMetrics(registry)
    exporter = MetricsExporter(registry, 0, host="127.0.0.1").start()
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{exporter.port}/metrics"
            async with session.get(url) as response:
                before = await response.text()
            metrics.record(result("idle", passed=True, reconnects=[]))
            async with session.get(url) as response:
                after = await response.text()
        assert "wschaos_scenario_runs_total{" not in before
        assert 'wschaos_scenario_runs_total{outcome="passed",scenario="idle"} 1.0' in after
        # A second exporter cannot take the same port: a clear error, not a traceback.
        with pytest.raises(UserError, match=rf"--metrics-port: {exporter.port}: cannot listen"):
            MetricsExporter(registry, exporter.port, host="127.0.0.1").start()
    finally:
        exporter.stop()
        exporter.stop()  # idempotent


async def test_push_puts_the_registry_under_job_wschaos() -> None:
    received: list[tuple[str, str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((request.method, request.path, await request.text()))
        return web.Response(status=200)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        registry = CollectorRegistry()
        RunMetrics(registry).record(result("cut", passed=False, reconnects=[0.5]))
        # push_to_gateway is blocking: keep the receiver's loop free.
        await asyncio.to_thread(push_metrics, f"http://127.0.0.1:{port}", registry)
    finally:
        await runner.cleanup()
    [(method, path, body)] = received
    assert (method, path) == ("PUT", "/metrics/job/wschaos")
    assert 'wschaos_scenario_runs_total{outcome="failed",scenario="cut"} 1.0' in body


def test_push_to_nowhere_is_a_user_error() -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UserError, match=rf"--pushgateway: 'http://127.0.0.1:{port}': push failed"):
        push_metrics(f"http://127.0.0.1:{port}", CollectorRegistry(), timeout=2)
