"""The JSON report, schema ``wschaos.run/1`` (documented in the README).

Top level: ``schema``, ``started_at`` (ISO 8601 UTC), ``duration_seconds`` (real), ``time_scale``
(the run's default), ``seed`` (or null), ``client`` (``module:factory``), ``interrupted``,
``passed`` (every scenario passed and every gate met), ``totals`` (figures pooled over the run),
``gates`` and ``scenarios`` (one entry per scenario run, repeats included). Durations are real
seconds; rates are null when nothing was measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaos.outcomes import RunResult

__all__ = ["SCHEMA", "run_to_json", "write_json"]

#: The value of the report's ``schema`` key; bumped on any incompatible change.
SCHEMA = "wschaos.run/1"


def run_to_json(run: RunResult) -> dict[str, Any]:
    """The report as a JSON-ready mapping."""
    return {
        "schema": SCHEMA,
        "started_at": run.started_at,
        "duration_seconds": round(run.duration, 6),
        "time_scale": run.time_scale,
        "seed": run.seed,
        "client": run.client,
        "interrupted": run.interrupted,
        "passed": run.passed,
        "totals": {
            "scenario_runs": len(run.results),
            "passed": sum(result.passed for result in run.results),
            "failed": sum(not result.passed for result in run.results),
            **run.figures.to_json(),
        },
        "gates": [
            {
                "expression": result.gate.expression,
                "name": result.gate.name,
                "op": result.gate.op,
                "value": result.gate.value,
                "observed": result.observed,
                "passed": result.passed,
            }
            for result in run.gates
        ],
        "scenarios": [result.to_json() for result in run.results],
    }


def write_json(run: RunResult, path: str | Path) -> None:
    """Write the report to ``path`` (parent directories created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(run_to_json(run), indent=2) + "\n", encoding="utf-8")
