"""CI gates: ``NAME OP VALUE`` expressions checked against a run's pooled figures (design §4, §9).

``NAME`` is one of :data:`GATE_NAMES`, ``OP`` one of ``>= <= == < >`` and ``VALUE`` a number or,
for the ``reconnect_p*`` names, a duration (``250ms``, ``2s``; a bare number is seconds). Reconnect
times are real time, never scaled.

A figure that could not be measured (no reconnects for ``reconnect_p95``, no queries for
``success_rate``) is None: an upper bound (``<``, ``<=``) on it is met, since nothing exceeded it,
and any other comparison is not, since nothing proved it.

Scenario files use the same names, and ``reconnects``, under ``expect:`` (:func:`parse_expect`),
where a bare number takes the natural direction: ``success_rate`` is a minimum, every other name a
maximum; a string such as ``"== 1"`` sets the operator.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from chaos.errors import ScenarioError, UserError
from emulator.timing import format_duration, parse_duration

__all__ = [
    "EXPECT_NAMES",
    "GATE_NAMES",
    "OPERATORS",
    "Gate",
    "GateResult",
    "evaluate",
    "evaluate_all",
    "parse_expect",
    "parse_gate",
]

#: Figures a gate may name; the ``reconnect_p*`` ones are real seconds.
GATE_NAMES: tuple[str, ...] = (
    "success_rate",
    "fallback_rate",
    "lost_queries",
    "duplicated_queries",
    "reconnect_p50",
    "reconnect_p95",
    "reconnect_p99",
)
#: Names a scenario's ``expect:`` block may use: the gate names and ``reconnects`` (completed
#: reconnects in the scenario run).
EXPECT_NAMES: tuple[str, ...] = (*GATE_NAMES, "reconnects")
_DURATIONS = frozenset({"reconnect_p50", "reconnect_p95", "reconnect_p99"})
_RATES = frozenset({"success_rate", "fallback_rate"})
_COUNTS = frozenset({"lost_queries", "duplicated_queries", "reconnects"})

#: Comparison operators, longest first so ``>=`` is not read as ``>``.
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPRESSION = re.compile(r"^\s*([a-z0-9_]+)\s*(>=|<=|==|<|>)\s*(\S+)\s*$")
_BOUND = re.compile(r"^\s*(>=|<=|==|<|>)\s*(\S+)\s*$")


class Figures(Protocol):
    """Anything that can report a figure by gate name (see :class:`chaos.outcomes.Figures`)."""

    def value(self, name: str) -> float | None:
        """The figure, or None when it could not be measured."""
        ...


@dataclass(frozen=True)
class Gate:
    """One comparison.

    Attributes:
        name: a figure of :data:`GATE_NAMES`.
        op: one of :data:`OPERATORS`.
        value: the bound; seconds for ``reconnect_p*``.
        expression: the text it came from, for reports.
    """

    name: str
    op: str
    value: float
    expression: str

    def check(self, observed: float | None) -> bool:
        """True when ``observed`` meets the gate (None: see the module docstring)."""
        if observed is None:
            return self.op in ("<", "<=")
        return OPERATORS[self.op](observed, self.value)


@dataclass(frozen=True)
class GateResult:
    """A gate checked against figures.

    Attributes:
        gate: the gate.
        observed: the figure; None when it could not be measured.
        passed: whether the gate is met.
    """

    gate: Gate
    observed: float | None
    passed: bool

    def describe(self) -> str:
        """E.g. ``reconnect_p95 <= 2s: observed 310ms, met``."""
        verdict = "met" if self.passed else "NOT met"
        observed = format_value(self.gate.name, self.observed)
        return f"{self.gate.expression}: observed {observed}, {verdict}"


def format_value(name: str, value: float | None) -> str:
    """A figure the way reports print it: durations as ``310ms``, rates with 3 decimals."""
    if value is None:
        return "n/a"
    if name in _DURATIONS:
        return format_duration(round(value, 3))
    if name in _RATES:
        return f"{value:.3f}"
    return f"{value:g}"


def _parse_value(name: str, text: object) -> float:
    if name in _DURATIONS:
        try:
            return parse_duration(text)
        except ValueError:
            raise ValueError("not a duration (use e.g. 250ms, 2s)") from None
    try:
        number = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("not a number") from None
    if isinstance(text, bool) or not math.isfinite(number):
        raise ValueError("not a number")
    if name in _RATES and not 0.0 <= number <= 1.0:
        raise ValueError("a rate is a number from 0 to 1")
    if name in _COUNTS and number < 0:
        raise ValueError("a count is never negative")
    return number


def parse_gate(expression: str, *, source: str = "--gate") -> Gate:
    """Parse ``NAME OP VALUE``.

    Raises:
        UserError: malformed; the message names ``source``, the expression and the problem.
    """
    match = _EXPRESSION.match(expression)
    if match is None:
        raise UserError(
            f"{source}: {expression!r}: expected NAME OP VALUE, e.g. 'success_rate >= 0.99'"
        )
    name, op, raw = match.groups()
    if name not in GATE_NAMES:
        raise UserError(
            f"{source}: {expression!r}: unknown name {name!r} (known: {', '.join(GATE_NAMES)})"
        )
    try:
        value = _parse_value(name, raw)
    except ValueError as exc:
        raise UserError(f"{source}: {expression!r}: {raw}: {exc}") from None
    return Gate(name=name, op=op, value=value, expression=" ".join((name, op, raw)))


def parse_expect(mapping: Mapping[str, object], *, source: str) -> list[Gate]:
    """Parse a scenario's ``expect:`` block (``{lost_queries: 0, success_rate: ">= 0.9"}``).

    A bare value takes the natural direction (``success_rate`` ``>=``, others ``<=``); a string
    starting with an operator sets it.

    Raises:
        ScenarioError: unknown name or bad value; the message names ``source`` and the key.
    """
    gates: list[Gate] = []
    for name, raw in mapping.items():
        if name not in EXPECT_NAMES:
            raise ScenarioError(
                f"{source}.{name}: {raw!r}: unknown key (known: {', '.join(EXPECT_NAMES)})"
            )
        op = ">=" if name == "success_rate" else "<="
        text: object = raw
        if isinstance(raw, str) and (bound := _BOUND.match(raw)):
            op, text = bound.groups()
        try:
            value = _parse_value(name, text)
        except ValueError as exc:
            raise ScenarioError(f"{source}.{name}: {raw!r}: {exc}") from None
        gates.append(Gate(name=name, op=op, value=value, expression=f"{name} {op} {text}"))
    return gates


def evaluate(gate: Gate, figures: Figures) -> GateResult:
    """Check one gate against ``figures``."""
    observed = figures.value(gate.name)
    return GateResult(gate=gate, observed=observed, passed=gate.check(observed))


def evaluate_all(gates: Iterable[Gate], figures: Figures) -> list[GateResult]:
    """Check every gate, in order."""
    return [evaluate(gate, figures) for gate in gates]
