"""The built-in suite run end to end: it passes on the resilient client and fails the naive one.

Each suite runs once per module (about 15 s, the two side by side) with the real emulator, the
embedded Toxiproxy and the real clients on loopback; the tests read the shared results. The real
duration is printed by the runner, not asserted here.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from chaos.adapter import DEFAULT_CLIENT, ClientSettings, StatusEvent, load_factory
from chaos.gates import evaluate_all, parse_gate
from chaos.outcomes import RunResult
from chaos.report import render_summary
from chaos.runner import RunConfig, Runner
from chaos.scenario import load_all
from chaos.testing.naive import NaiveClient, naive_client
from scenarios import suite_path

NAIVE = "chaos.testing.naive:naive_client"
DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.timeout(240)


def run_suite(client: str, paths: list[Path]) -> tuple[RunResult, CollectorRegistry]:
    config = RunConfig(
        scenarios=load_all(paths), factory=load_factory(client), client_spec=client, seed=1
    )
    result = asyncio.run(Runner(config).run())
    print(render_summary(result))
    return result, config.registry


@pytest.fixture(scope="module")
def suites() -> dict[str, tuple[RunResult, CollectorRegistry]]:
    """Both suites, run side by side: each on its own event loop (the naive one in a thread),
    with its own emulator and Toxiproxy. The scenarios mostly wait, so this halves the time."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        naive = pool.submit(run_suite, NAIVE, [suite_path()])
        resilient = run_suite(DEFAULT_CLIENT, [suite_path()])
        return {"resilient": resilient, "naive": naive.result(timeout=120)}


@pytest.fixture(scope="module")
def resilient(
    suites: dict[str, tuple[RunResult, CollectorRegistry]],
) -> tuple[RunResult, CollectorRegistry]:
    return suites["resilient"]


@pytest.fixture(scope="module")
def naive(suites: dict[str, tuple[RunResult, CollectorRegistry]]) -> RunResult:
    return suites["naive"][0]


def samples(registry: CollectorRegistry, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name
    ]


# -- the resilient client ------------------------------------------------------------------------
def test_the_whole_suite_passes_on_the_resilient_client(
    resilient: tuple[RunResult, CollectorRegistry],
) -> None:
    result, _ = resilient
    assert len(result.results) == 16
    assert result.passed, render_summary(result)
    pooled = result.figures
    assert (pooled.success_rate, pooled.lost, pooled.duplicated) == (1.0, 0, 0)


def test_rest_answers_exactly_where_the_websocket_cannot(
    resilient: tuple[RunResult, CollectorRegistry],
) -> None:
    result, _ = resilient
    over_rest = {r.name for r in result.results if r.figures.by_transport["rest"]}
    assert over_rest == {
        "connect-throttling",
        "connection-reset",
        "half-open",
        "lost-reply",
        "network-cut-long",
    }


def test_reconnects_are_timed_in_real_time(
    resilient: tuple[RunResult, CollectorRegistry],
) -> None:
    result, _ = resilient
    by_name = {r.name: r.figures for r in result.results}
    # The half-open socket is noticed only when the pong misses its 250 ms deadline, and the
    # reconnect after clear_toxics is a fresh handshake: both are real time, never scaled back.
    assert by_name["half-open"].failed_reconnects >= 1
    assert all(0 < seconds < 5 for r in result.results for seconds in r.figures.reconnect_times)
    assert len(by_name["flapping"].reconnect_times) >= 3
    assert by_name["heartbeat-keepalive"].reconnect_times == []


def test_the_run_registry_holds_run_client_and_gateway_metrics(
    resilient: tuple[RunResult, CollectorRegistry],
) -> None:
    result, registry = resilient
    runs = samples(registry, "wschaos_scenario_runs_total")
    assert sum(value for labels, value in runs if labels["outcome"] == "passed") == 16
    # Each scenario had its own client; the pooled client counters agree with the runner.
    pooled = result.figures
    client = {
        labels["transport"]: value
        for labels, value in samples(registry, "wschaos_client_queries_total")
        if labels["outcome"] == "answered"
    }
    assert client == {
        "websocket": pooled.by_transport["websocket"],
        "rest": pooled.by_transport["rest"],
    }
    assert sum(v for _, v in samples(registry, "wschaos_gateway_connects_total")) > 16
    assert samples(registry, "wschaos_scenario_reconnect_seconds_count")


# -- the naive client: proof that the suite can fail ---------------------------------------------
#: Scenario -> None (passes) or a pattern of the first failure's message.
NAIVE_OUTCOMES = {
    "backend-delete": r"step 5 \(query\): expected an answer over websocket, observed error .*"
    r"not connected",
    "connect-throttling": r"step 6 \(query\): expected an answer over rest, observed error .*"
    r"not connected",
    "connection-reset": r"step 5 \(expect_status\): expected status failed within 1s .*"
    r"observed status disconnected",
    "flapping": r"step 3\.4 \(query\): expected an answer over websocket, observed error .*"
    r"not connected",
    "gateway-deploy": r"step 5 \(query\): expected an answer over websocket, observed error .*"
    r"not connected",
    "half-open": r"step 4 \(expect_status\): expected status reconnecting within 1s .*"
    r"observed status connected$",
    "heartbeat-keepalive": r"step 4 \(expect_status\): expected status connected within 250ms .*"
    r"observed status disconnected",
    "idle-timeout": r"step 5 \(query\): expected an answer over websocket, observed error .*"
    r"not connected",
    "latency-jitter": None,
    "lost-reply": r"step 3 \(query\): expected an answer over rest, observed lost: "
    r"no answer within 3s",
    "manual-reconnect": None,
    "max-connection-duration": r"step 4 \(expect_status\): expected status connected .*"
    r"observed status disconnected",
    "network-cut-long": r"step 4 \(expect_status\): expected status failed within 500ms .*"
    r"observed status disconnected",
    "network-cut-short": r"step 6 \(expect_status\): expected status connected within 1s .*"
    r"observed status disconnected",
    "rest-down": None,
    "slow-link": None,
}


def test_the_naive_client_fails_exactly_where_it_does_not_recover(naive: RunResult) -> None:
    observed = {r.name: (r.failures[0].message if r.failures else None) for r in naive.results}
    assert set(observed) == set(NAIVE_OUTCOMES)
    for name, pattern in NAIVE_OUTCOMES.items():
        if pattern is None:
            assert observed[name] is None, f"{name}: {observed[name]}"
        else:
            assert observed[name] is not None, f"{name} passed"
            assert re.search(pattern, observed[name]), f"{name}: {observed[name]}"
    # A failed step ends the scenario: the expect block is not judged on half a run.
    assert all(len(r.failures) == 1 for r in naive.results if r.failures)


def test_the_naive_client_fails_the_gates(naive: RunResult) -> None:
    pooled = naive.figures
    assert pooled.errored > 0 and pooled.lost == 1 and pooled.by_transport["rest"] == 0
    results = {
        result.gate.name: result.passed
        for result in evaluate_all(
            [
                parse_gate("success_rate >= 0.99"),  # errored queries after every lost connection
                parse_gate("fallback_rate >= 0.05"),  # it never falls back to REST
                parse_gate("lost_queries == 0"),  # it waits for ever for a lost reply
                parse_gate("duplicated_queries == 0"),
            ],
            pooled,
        )
    }
    # The sample back end runs each query_id once, and the naive client never retries: nothing
    # is duplicated (a client retrying under a fresh id fails this gate: test_runner_observes).
    assert results == {
        "success_rate": False,
        "fallback_rate": False,
        "lost_queries": False,
        "duplicated_queries": True,
    }


def naive_with_a_wrong_clock(settings: ClientSettings) -> NaiveClient:
    """The naive client, reporting every status change as if it happened at time 0."""
    client = naive_client(settings)
    subscribe = client.subscribe

    def stamped_zero(callback: Callable[[StatusEvent], None]) -> Callable[[], None]:
        return subscribe(lambda event: callback(replace(event, at=0.0)))

    client.subscribe = stamped_zero  # type: ignore[method-assign]
    return client


def test_reconnect_gates_fail_when_reconnects_are_slow() -> None:
    # 150 ms of latency each way makes "Reconnect Now" take over 300 ms of real time: the
    # reconnect percentiles are measured, not scaled, so a 250 ms gate fails on them. They are
    # measured by the runner's clock, not taken from the times the client reports.
    result, _ = run_suite(f"{__name__}:naive_with_a_wrong_clock", [DATA / "slow-reconnect.yaml"])
    assert result.passed, render_summary(result)
    [seconds] = result.figures.reconnect_times
    assert seconds >= 0.3
    gates = evaluate_all(
        [parse_gate(f"reconnect_p{p} <= 250ms") for p in (50, 95, 99)], result.figures
    )
    assert [gate.passed for gate in gates] == [False, False, False]
