"""What a run measures (design §9), computed from observed events only; no I/O.

- A query is *answered* (a result carrying its own ``query_id``, over ``websocket`` or ``rest``),
  *errored* (a clear exception), or *lost* (neither before the runner's deadline, or an answer for
  another ``query_id``). Queries expected to error are left out of the rates.
- ``duplicated_queries`` are executions beyond one per ``query_id`` in the back end's ledger,
  and every execution under an id the runner never sent (a retry under a fresh id).
- A reconnect is timed, in real seconds, by :class:`ReconnectTracker` from the client's status
  events: from the moment the client leaves CONNECTED for a reconnecting state (or, when it was
  left DISCONNECTED or FAILED, from the moment a query makes it try again) to CONNECTED. An episode
  that ends in DISCONNECTED or FAILED instead is a failed reconnect, and the next try starts a new
  one. The first connection, and the first after the scenario's own ``close``, is not a reconnect.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos.gates import GateResult

__all__ = [
    "ANSWERED",
    "ERRORED",
    "LOST",
    "TRANSPORTS",
    "Failure",
    "Figures",
    "QueryRecord",
    "ReconnectTracker",
    "RunResult",
    "ScenarioResult",
    "classify_answer",
    "count_duplicates",
    "percentile",
]

ANSWERED = "answered"
ERRORED = "errored"
LOST = "lost"
#: The transports an answer can come over.
TRANSPORTS: tuple[str, ...] = ("websocket", "rest")

CONNECTED = "connected"
_ACTIVE = frozenset({"connecting", "reconnecting"})
_IDLE = frozenset({"disconnected", "failed"})


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (a value actually observed); None for no values.

    Args:
        values: the sample, any order.
        p: the percentile, in (0, 100].
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def count_duplicates(ledger: Mapping[str, int], sent: Collection[str] | None = None) -> int:
    """Executions beyond one per query.

    A back end that runs each ``query_id`` once (the sample API's ledger) still runs a query
    twice when a client retries it under a fresh id: so, given the ids the runner sent, every
    execution under an id it never sent is a duplicate too.

    Args:
        ledger: executions per ``query_id``, as the back end counts them.
        sent: the ids the runner's queries went out with; None = count per id only.
    """
    unknown = set(ledger) - set(sent) if sent is not None else set()
    return sum(
        int(count) if query_id in unknown else max(0, int(count) - 1)
        for query_id, count in ledger.items()
    )


def classify_answer(sent_id: str, answered_id: str, transport: str) -> tuple[str, str | None]:
    """Classify a returned answer: ``(outcome, problem)``.

    An answer for another ``query_id`` is *lost* (the right one never came); an answer over an
    unknown transport is *errored*.
    """
    if answered_id != sent_id:
        return LOST, f"answer for another query_id {answered_id!r}"
    if transport not in TRANSPORTS:
        return ERRORED, f"answer over an unknown transport {transport!r}"
    return ANSWERED, None


@dataclass(frozen=True)
class QueryRecord:
    """One query as the runner saw it.

    Attributes:
        step: the step label.
        query_id: the id the client sent it with.
        outcome: ``answered``, ``errored`` or ``lost``.
        transport: ``websocket``/``rest`` when answered, else None.
        latency: real seconds from the step's start to the outcome.
        reconnects: reconnects completed during the step (observed, not the client's word).
        expected: the expected transport (``websocket``, ``rest``, ``error``) or None.
        error: the exception or problem text, or None.
    """

    step: str
    query_id: str
    outcome: str
    transport: str | None
    latency: float
    reconnects: int
    expected: str | None = None
    error: str | None = None

    @property
    def counted(self) -> bool:
        """Whether it counts in the rates (queries expected to error do not)."""
        return self.expected != "error"

    def to_json(self) -> dict[str, Any]:
        """The JSON report's shape (``wschaos.run/1``); seconds rounded to microseconds."""
        return {
            "step": self.step,
            "query_id": self.query_id,
            "expected": self.expected,
            "outcome": self.outcome,
            "transport": self.transport,
            "latency_seconds": round(self.latency, 6),
            "reconnects": self.reconnects,
            "error": self.error,
        }


class ReconnectTracker:
    """Times reconnects from status events (see the module docstring).

    Feed every status change with :meth:`observe` and call :meth:`forget` when the scenario itself
    closes the client.

    Attributes:
        durations: completed reconnects, real seconds, in order.
        failed: episodes that ended in DISCONNECTED or FAILED instead of CONNECTED.
    """

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.failed = 0
        self._state: str | None = None
        self._connected_before = False
        self._started: float | None = None

    @property
    def in_progress(self) -> bool:
        """Whether a reconnect is being timed."""
        return self._started is not None

    def observe(self, state: str, at: float) -> float | None:
        """Record that the status became ``state`` at ``at`` (monotonic seconds).

        Returns:
            The duration of the reconnect this event completed, or None.
        """
        previous, self._state = self._state, state
        if state == previous:
            return None
        if state == CONNECTED:
            completed = None
            if self._started is not None:
                completed = max(0.0, at - self._started)
                self.durations.append(completed)
            self._started = None
            self._connected_before = True
            return completed
        if state in _ACTIVE:
            if self._connected_before and self._started is None:
                self._started = at
        elif state in _IDLE and self._started is not None:
            self.failed += 1
            self._started = None
        return None

    def forget(self) -> None:
        """The client was closed on purpose: its next connection is a first one."""
        self._connected_before = False
        self._started = None


@dataclass
class Figures:
    """Counts and reconnect times of one scenario, or pooled over several.

    Attributes:
        queries: queries counted in the rates.
        answered: of those, answered.
        errored: of those, errored.
        lost: of those, lost.
        by_transport: answered ones per transport.
        duplicated: executions beyond one per ``query_id``.
        reconnect_times: completed reconnects, real seconds.
        failed_reconnects: reconnect episodes that gave up.
    """

    queries: int = 0
    answered: int = 0
    errored: int = 0
    lost: int = 0
    by_transport: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TRANSPORTS, 0))
    duplicated: int = 0
    reconnect_times: list[float] = field(default_factory=list)
    failed_reconnects: int = 0

    @classmethod
    def from_records(
        cls,
        records: Iterable[QueryRecord],
        *,
        duplicated: int = 0,
        reconnect_times: Iterable[float] = (),
        failed_reconnects: int = 0,
    ) -> Figures:
        """Count ``records`` (queries expected to error are left out of the rates)."""
        figures = cls(
            duplicated=duplicated,
            reconnect_times=list(reconnect_times),
            failed_reconnects=failed_reconnects,
        )
        for record in records:
            if not record.counted:
                continue
            figures.queries += 1
            if record.outcome == ANSWERED:
                figures.answered += 1
                if record.transport in figures.by_transport:
                    figures.by_transport[record.transport] += 1
            elif record.outcome == ERRORED:
                figures.errored += 1
            else:
                figures.lost += 1
        return figures

    @classmethod
    def pool(cls, many: Iterable[Figures]) -> Figures:
        """Sum counts and concatenate reconnect times."""
        total = cls()
        for figures in many:
            total.queries += figures.queries
            total.answered += figures.answered
            total.errored += figures.errored
            total.lost += figures.lost
            for transport, count in figures.by_transport.items():
                total.by_transport[transport] = total.by_transport.get(transport, 0) + count
            total.duplicated += figures.duplicated
            total.reconnect_times.extend(figures.reconnect_times)
            total.failed_reconnects += figures.failed_reconnects
        return total

    @property
    def success_rate(self) -> float | None:
        """answered / queries; None without queries."""
        return self.answered / self.queries if self.queries else None

    @property
    def fallback_rate(self) -> float | None:
        """answered over REST / answered; None when nothing was answered."""
        return self.by_transport.get("rest", 0) / self.answered if self.answered else None

    def reconnect_percentile(self, p: float) -> float | None:
        """Nearest-rank percentile of reconnect times, real seconds; None without reconnects."""
        return percentile(self.reconnect_times, p)

    def value(self, name: str) -> float | None:
        """A figure by name (:data:`chaos.gates.EXPECT_NAMES`); None when not measured."""
        if name == "success_rate":
            return self.success_rate
        if name == "fallback_rate":
            return self.fallback_rate
        if name == "lost_queries":
            return float(self.lost)
        if name == "duplicated_queries":
            return float(self.duplicated)
        if name == "reconnects":
            return float(len(self.reconnect_times))
        if name.startswith("reconnect_p"):
            return self.reconnect_percentile(float(name.removeprefix("reconnect_p")))
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """The JSON report's shape (``wschaos.run/1``); seconds rounded to microseconds."""

        def seconds(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        return {
            "queries": self.queries,
            "answered": self.answered,
            "errored": self.errored,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "by_transport": dict(self.by_transport),
            "success_rate": self.success_rate,
            "fallback_rate": self.fallback_rate,
            "reconnects": len(self.reconnect_times),
            "failed_reconnects": self.failed_reconnects,
            "reconnect_seconds": [round(value, 6) for value in self.reconnect_times],
            "reconnect_p50": seconds(self.reconnect_percentile(50)),
            "reconnect_p95": seconds(self.reconnect_percentile(95)),
            "reconnect_p99": seconds(self.reconnect_percentile(99)),
        }


@dataclass(frozen=True)
class Failure:
    """An expectation that was not met.

    Attributes:
        step: the step label, or None for the scenario's ``expect`` block.
        kind: the step's kind (``query``, ``expect_status``...) or ``expect``.
        expected: what was expected, in words.
        observed: what happened, in words.
    """

    step: str | None
    kind: str
    expected: str
    observed: str

    @property
    def message(self) -> str:
        """One line: ``step 5 (query): expected websocket, observed error: ...``."""
        where = f"step {self.step} ({self.kind})" if self.step is not None else self.kind
        return f"{where}: expected {self.expected}, observed {self.observed}"

    def to_json(self) -> dict[str, Any]:
        """The JSON report's shape (``wschaos.run/1``); seconds rounded to microseconds."""
        return {
            "step": self.step,
            "kind": self.kind,
            "expected": self.expected,
            "observed": self.observed,
            "message": self.message,
        }


@dataclass
class ScenarioResult:
    """One run of one scenario.

    Attributes:
        name: the scenario's name.
        description: its one-line description.
        path: its file.
        iteration: which repeat of the run (1-based).
        time_scale: the time scale it ran at.
        failures: unmet expectations, in order (empty = passed).
        records: every query.
        figures: its figures.
        duration: real seconds it took, set-up included.
    """

    name: str
    description: str
    path: str
    iteration: int
    time_scale: float
    failures: list[Failure] = field(default_factory=list)
    records: list[QueryRecord] = field(default_factory=list)
    figures: Figures = field(default_factory=Figures)
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        """No expectation failed."""
        return not self.failures

    @property
    def outcome(self) -> str:
        """``passed`` or ``failed`` (the metrics' label values)."""
        return "passed" if self.passed else "failed"

    def to_json(self) -> dict[str, Any]:
        """The JSON report's shape (``wschaos.run/1``); seconds rounded to microseconds."""
        return {
            "name": self.name,
            "description": self.description,
            "file": self.path,
            "iteration": self.iteration,
            "time_scale": self.time_scale,
            "outcome": self.outcome,
            "duration_seconds": round(self.duration, 6),
            "failures": [failure.to_json() for failure in self.failures],
            "queries": [record.to_json() for record in self.records],
            "figures": self.figures.to_json(),
        }


@dataclass
class RunResult:
    """A whole run: every scenario result, the pooled figures and the gates.

    Attributes:
        results: scenario results in run order (repeats included).
        gates: the ``--gate`` results against the pooled figures.
        duration: real seconds of the whole run.
        started_at: ISO 8601 UTC time the run started.
        time_scale: the run's default time scale.
        seed: the seed, or None when none was given.
        client: the adapter factory, ``module:factory``.
        interrupted: the run was stopped before it finished.
    """

    results: list[ScenarioResult] = field(default_factory=list)
    gates: list[GateResult] = field(default_factory=list)
    duration: float = 0.0
    started_at: str = ""
    time_scale: float = 60.0
    seed: int | None = None
    client: str = ""
    interrupted: bool = False

    @property
    def figures(self) -> Figures:
        """Pooled over every scenario and repeat."""
        return Figures.pool(result.figures for result in self.results)

    @property
    def passed(self) -> bool:
        """Every scenario passed and every gate is met."""
        return all(r.passed for r in self.results) and all(g.passed for g in self.gates)
