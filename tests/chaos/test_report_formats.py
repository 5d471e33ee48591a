"""The three reports of a run: the summary table, JSON (wschaos.run/1) and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from chaos.gates import evaluate_all, parse_gate
from chaos.outcomes import (
    ANSWERED,
    ERRORED,
    Failure,
    Figures,
    QueryRecord,
    RunResult,
    ScenarioResult,
)
from chaos.report import SCHEMA, render_summary, run_to_json, run_to_junit, write_json, write_junit


def sample_run(*, repeats: bool = False) -> RunResult:
    ok_records = [
        QueryRecord("2", "idle-1-1", ANSWERED, "websocket", 0.012, 0, expected="websocket"),
        QueryRecord("5", "idle-1-2", ANSWERED, "websocket", 0.031, 1, expected="websocket"),
    ]
    ok = ScenarioResult(
        name="idle-timeout",
        description="Idle past 10 minutes.",
        path="scenarios/idle-timeout.yaml",
        iteration=1,
        time_scale=600,
        records=ok_records,
        figures=Figures.from_records(ok_records, reconnect_times=[0.021]),
        duration=1.234,
    )
    bad_records = [
        QueryRecord("2", "cut-1-1", ANSWERED, "websocket", 0.01, 0, expected="websocket"),
        QueryRecord("5", "cut-1-2", ERRORED, None, 0.3, 0, expected="rest", error="QueryFailed: x"),
    ]
    bad = ScenarioResult(
        name="network-cut-long",
        description="A long cut.",
        path="scenarios/network-cut-long.yaml",
        iteration=2 if repeats else 1,
        time_scale=60,
        failures=[
            Failure("4", "expect_status", "status failed within 500ms", "status disconnected"),
            Failure(None, "expect", "lost_queries <= 0", "1"),
        ],
        records=bad_records,
        figures=Figures.from_records(bad_records, duplicated=1),
        duration=0.5,
    )
    run = RunResult(
        results=[ok, bad],
        duration=1.8,
        started_at="2025-01-01T00:00:00+00:00",
        time_scale=60,
        seed=7,
        client="chaos.adapter:resilient_client",
    )
    run.gates = evaluate_all(
        [parse_gate("success_rate >= 0.7"), parse_gate("reconnect_p95 <= 10ms")], run.figures
    )
    return run


def test_summary_has_a_row_per_run_pooled_figures_gates_and_failures() -> None:
    text = render_summary(sample_run())
    lines = text.splitlines()
    assert lines[0].split() == [
        "scenario", "outcome", "ws", "rest", "err", "lost", "dup", "reconn", "p50", "p95",
        "scale", "real",
    ]  # fmt: skip
    assert lines[1].split() == [
        "idle-timeout", "passed", "2", "0", "0", "0", "0", "1", "21ms", "21ms", "600", "1.23s",
    ]  # fmt: skip
    assert lines[2].split() == [
        "network-cut-long", "failed", "1", "0", "1", "0", "1", "0", "n/a", "n/a", "60", "0.50s",
    ]  # fmt: skip
    assert "2 scenario runs (1 repeat): 1 passed, 1 failed; real 1.80s; time scale 60" in text
    assert "queries 4: answered 3 (websocket 3, rest 0), errored 1, lost 0, duplicated 1" in text
    assert "success_rate 0.750, fallback_rate 0.000" in text
    assert "reconnects 1 (failed 0): p50 21ms, p95 21ms, p99 21ms" in text
    assert "  success_rate >= 0.7: observed 0.750, met" in lines
    assert "  reconnect_p95 <= 10ms: observed 21ms, NOT met" in lines
    assert (
        "  network-cut-long: step 4 (expect_status): expected status failed within 500ms, "
        "observed status disconnected" in lines
    )
    assert "  network-cut-long: expect: expected lost_queries <= 0, observed 1" in lines


def test_summary_names_repeats() -> None:
    text = render_summary(sample_run(repeats=True))
    assert "network-cut-long #2" in text and "(2 repeats)" in text


def test_json_report_follows_its_schema(tmp_path: Path) -> None:
    run = sample_run()
    path = tmp_path / "out" / "run.json"
    write_json(run, path)
    data = json.loads(path.read_text())

    assert data == run_to_json(run)
    assert data["schema"] == SCHEMA == "wschaos.run/1"
    assert set(data) == {
        "schema", "started_at", "duration_seconds", "time_scale", "seed", "client",
        "interrupted", "passed", "totals", "gates", "scenarios",
    }  # fmt: skip
    assert data["passed"] is False and data["seed"] == 7
    totals = data["totals"]
    assert (totals["scenario_runs"], totals["passed"], totals["failed"]) == (2, 1, 1)
    assert (totals["queries"], totals["answered"], totals["duplicated"]) == (4, 3, 1)
    assert totals["by_transport"] == {"websocket": 3, "rest": 0}
    assert totals["reconnect_seconds"] == [0.021]
    assert data["gates"][1] == {
        "expression": "reconnect_p95 <= 10ms",
        "name": "reconnect_p95",
        "op": "<=",
        "value": 0.01,
        "observed": 0.021,
        "passed": False,
    }
    first, second = data["scenarios"]
    assert set(first) == {
        "name", "description", "file", "iteration", "time_scale", "outcome",
        "duration_seconds", "failures", "queries", "figures",
    }  # fmt: skip
    assert first["outcome"] == "passed" and first["time_scale"] == 600
    assert first["queries"][1] == {
        "step": "5",
        "query_id": "idle-1-2",
        "expected": "websocket",
        "outcome": "answered",
        "transport": "websocket",
        "latency_seconds": 0.031,
        "reconnects": 1,
        "error": None,
    }
    assert second["failures"][0] == {
        "step": "4",
        "kind": "expect_status",
        "expected": "status failed within 500ms",
        "observed": "status disconnected",
        "message": "step 4 (expect_status): expected status failed within 500ms, "
        "observed status disconnected",
    }
    assert second["failures"][1]["step"] is None
    assert second["figures"]["success_rate"] == 0.5


def test_junit_report_has_a_case_per_scenario_and_per_gate(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(sample_run(), path)
    assert path.read_text() == run_to_junit(sample_run())
    root = ET.parse(path).getroot()

    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "2", "0")
    scenarios, gates = root.findall("testsuite")
    assert scenarios.get("name") == "wschaos.scenarios"
    assert (scenarios.get("tests"), scenarios.get("failures")) == ("2", "1")
    ok, bad = scenarios.findall("testcase")
    assert (ok.get("name"), ok.get("time"), ok.get("file")) == (
        "idle-timeout",
        "1.234",
        "scenarios/idle-timeout.yaml",
    )
    assert ok.find("failure") is None
    assert json.loads(ok.find("system-out").text.split("\n", 1)[1])["reconnects"] == 1
    failure = bad.find("failure")
    assert failure.get("message") == (
        "step 4 (expect_status): expected status failed within 500ms, observed status disconnected"
    )
    assert failure.text.splitlines()[1] == "expect: expected lost_queries <= 0, observed 1"
    assert gates.get("name") == "wschaos.gates"
    cases = gates.findall("testcase")
    assert [c.get("name") for c in cases] == ["success_rate >= 0.7", "reconnect_p95 <= 10ms"]
    assert cases[0].find("failure") is None
    assert cases[1].find("failure").get("message") == (
        "reconnect_p95 <= 10ms: observed 21ms, NOT met"
    )


def test_junit_without_gates_has_one_suite() -> None:
    run = sample_run()
    run.gates = []
    root = ET.fromstring(run_to_junit(run).split("?>", 1)[1])
    assert [suite.get("name") for suite in root.findall("testsuite")] == ["wschaos.scenarios"]
    assert root.get("tests") == "2"
