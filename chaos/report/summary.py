"""The human summary: one row per scenario run, then the pooled figures, the gates and failures."""

from __future__ import annotations

from chaos.gates import format_value
from chaos.outcomes import RunResult, ScenarioResult

__all__ = ["render_summary"]

_COLUMNS = (
    ("scenario", "<"),
    ("outcome", "<"),
    ("ws", ">"),
    ("rest", ">"),
    ("err", ">"),
    ("lost", ">"),
    ("dup", ">"),
    ("reconn", ">"),
    ("p50", ">"),
    ("p95", ">"),
    ("scale", ">"),
    ("real", ">"),
)


def _seconds(value: float | None) -> str:
    return format_value("reconnect_p50", value)


def _row(result: ScenarioResult, repeats: bool) -> list[str]:
    figures = result.figures
    name = f"{result.name} #{result.iteration}" if repeats else result.name
    return [
        name,
        result.outcome,
        str(figures.by_transport.get("websocket", 0)),
        str(figures.by_transport.get("rest", 0)),
        str(figures.errored),
        str(figures.lost),
        str(figures.duplicated),
        str(len(figures.reconnect_times)),
        _seconds(figures.reconnect_percentile(50)),
        _seconds(figures.reconnect_percentile(95)),
        f"{result.time_scale:g}",
        f"{result.duration:.2f}s",
    ]


def render_summary(run: RunResult) -> str:
    """The summary as text (no trailing newline).

    Columns: scenario, outcome, answered over WebSocket / REST, errored, lost, duplicated,
    completed reconnects, reconnect p50/p95 (real time), the time scale N and the real duration.
    """
    repeats = any(result.iteration > 1 for result in run.results)
    rows = [[title for title, _ in _COLUMNS]] + [_row(r, repeats) for r in run.results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(
            f"{cell:{align}{width}}"
            for cell, (_, align), width in zip(row, _COLUMNS, widths, strict=True)
        ).rstrip()
        for row in rows
    ]
    pooled = run.figures
    passed = sum(result.passed for result in run.results)
    iterations = max((result.iteration for result in run.results), default=0)
    lines.append("")
    lines.append(
        f"{len(run.results)} scenario runs ({iterations} repeat{'s' if iterations != 1 else ''}): "
        f"{passed} passed, {len(run.results) - passed} failed"
        + (" (interrupted)" if run.interrupted else "")
        + f"; real {run.duration:.2f}s; time scale {run.time_scale:g}"
        " (scenarios may set their own; reconnect times are real time)"
    )
    lines.append(
        f"queries {pooled.queries}: answered {pooled.answered} "
        f"(websocket {pooled.by_transport.get('websocket', 0)}, "
        f"rest {pooled.by_transport.get('rest', 0)}), errored {pooled.errored}, "
        f"lost {pooled.lost}, duplicated {pooled.duplicated}; "
        f"success_rate {format_value('success_rate', pooled.success_rate)}, "
        f"fallback_rate {format_value('fallback_rate', pooled.fallback_rate)}"
    )
    lines.append(
        f"reconnects {len(pooled.reconnect_times)} (failed {pooled.failed_reconnects}): "
        + ", ".join(f"p{p} {_seconds(pooled.reconnect_percentile(p))}" for p in (50, 95, 99))
    )
    if run.gates:
        lines.append("gates:")
        lines.extend(f"  {result.describe()}" for result in run.gates)
    failed = [result for result in run.results if not result.passed]
    if failed:
        lines.append("failures:")
        for result in failed:
            name = f"{result.name} #{result.iteration}" if repeats else result.name
            lines.extend(f"  {name}: {failure.message}" for failure in result.failures)
    return "\n".join(lines)
