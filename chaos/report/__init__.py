"""Reports of a run: the summary table, JSON (schema ``wschaos.run/1``) and JUnit XML.

Each takes a :class:`~chaos.outcomes.RunResult` and returns text; the ``write_*`` helpers put it
in a file. The summary pools every scenario and repeat; JSON and JUnit keep them per scenario.
"""

from chaos.report.json_report import SCHEMA, run_to_json, write_json
from chaos.report.junit import run_to_junit, write_junit
from chaos.report.summary import render_summary

__all__ = [
    "SCHEMA",
    "render_summary",
    "run_to_json",
    "run_to_junit",
    "write_json",
    "write_junit",
]
