"""Gate expressions: parsing with one-line errors, and evaluation against figures."""

from __future__ import annotations

import pytest

from chaos.errors import UserError
from chaos.gates import GATE_NAMES, Gate, evaluate, evaluate_all, parse_gate
from chaos.outcomes import Figures


def figures(**overrides: object) -> Figures:
    base = Figures(
        queries=10,
        answered=9,
        errored=1,
        lost=0,
        by_transport={"websocket": 6, "rest": 3},
        duplicated=0,
        reconnect_times=[0.010, 0.020, 0.030, 0.040, 1.5],
    )
    for key, value in overrides.items():
        setattr(base, key, value)
    return base


@pytest.mark.parametrize(
    ("expression", "name", "op", "value"),
    [
        ("success_rate >= 0.99", "success_rate", ">=", 0.99),
        ("fallback_rate<0.5", "fallback_rate", "<", 0.5),
        ("lost_queries == 0", "lost_queries", "==", 0.0),
        ("duplicated_queries <= 2", "duplicated_queries", "<=", 2.0),
        ("reconnect_p50 < 250ms", "reconnect_p50", "<", 0.25),
        ("reconnect_p95 <= 2s", "reconnect_p95", "<=", 2.0),
        ("  reconnect_p99 > 1.5  ", "reconnect_p99", ">", 1.5),
    ],
)
def test_parse(expression: str, name: str, op: str, value: float) -> None:
    gate = parse_gate(expression)
    assert (gate.name, gate.op, gate.value) == (name, op, value)
    assert gate.expression == f"{name} {op} {expression.split(op)[1].strip()}"


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("success_rate", "expected NAME OP VALUE"),
        ("success_rate => 1", "expected NAME OP VALUE"),
        ("uptime >= 1", "unknown name 'uptime' (known: success_rate"),
        ("success_rate >= high", "high: not a number"),
        ("success_rate >= 2", "2: a rate is a number from 0 to 1"),
        ("lost_queries <= -1", "-1: a count is never negative"),
        ("reconnect_p95 <= soon", "soon: not a duration"),
        ("success_rate >= nan", "nan: not a number"),
    ],
)
def test_malformed_gates_are_user_errors_naming_the_option(expression: str, problem: str) -> None:
    with pytest.raises(UserError) as raised:
        parse_gate(expression)
    text = str(raised.value)
    assert text.startswith(f"--gate: {expression!r}: "), text
    assert problem in text


def test_every_gate_name_reads_its_figure() -> None:
    data = figures()
    observed = {name: evaluate(parse_gate(f"{name} >= 0"), data).observed for name in GATE_NAMES}
    assert observed == {
        "success_rate": 0.9,
        "fallback_rate": pytest.approx(3 / 9),
        "lost_queries": 0.0,
        "duplicated_queries": 0.0,
        # nearest rank over 5 values: p50 -> 3rd, p95 and p99 -> 5th
        "reconnect_p50": 0.030,
        "reconnect_p95": 1.5,
        "reconnect_p99": 1.5,
    }


def test_each_operator_decides_at_the_boundary() -> None:
    data = figures(lost=2)
    results = {
        op: evaluate(parse_gate(f"lost_queries {op} 2"), data).passed
        for op in (">=", "<=", "==", "<", ">")
    }
    assert results == {">=": True, "<=": True, "==": True, "<": False, ">": False}


def test_unmeasured_figures_meet_upper_bounds_only() -> None:
    nothing = Figures()
    assert evaluate(parse_gate("reconnect_p95 <= 1s"), nothing).passed
    assert evaluate(parse_gate("reconnect_p95 < 1s"), nothing).passed
    assert not evaluate(parse_gate("success_rate >= 0.9"), nothing).passed
    assert not evaluate(parse_gate("reconnect_p50 == 0"), nothing).passed
    result = evaluate(parse_gate("success_rate >= 0.9"), nothing)
    assert result.observed is None
    assert result.describe() == "success_rate >= 0.9: observed n/a, NOT met"


def test_describe_prints_durations_and_rates_readably() -> None:
    results = evaluate_all(
        [parse_gate("reconnect_p95 <= 2s"), parse_gate("success_rate >= 0.95")], figures()
    )
    assert [r.describe() for r in results] == [
        "reconnect_p95 <= 2s: observed 1.5s, met",
        "success_rate >= 0.95: observed 0.900, NOT met",
    ]
    assert isinstance(results[0].gate, Gate)
