"""Progress on stderr: one redrawn line on a terminal, plain lines elsewhere, nothing with -q."""

from __future__ import annotations

import io

from chaos.outcomes import Failure, ScenarioResult
from chaos.progress import TerminalProgress
from chaos.scenario import Scenario, parse

SCENARIO: Scenario = parse(
    {"name": "cut", "description": "d", "steps": ["connect", {"cut": "websocket"}]}, "cut.yaml"
)


def drive(progress: TerminalProgress, *, failed: bool) -> None:
    progress.run_started([SCENARIO], 1)
    progress.scenario_started(SCENARIO, 1, 1, 1)
    for step in SCENARIO.steps:
        progress.step_started(SCENARIO, step)
    result = ScenarioResult("cut", "d", "cut.yaml", 1, 60.0, duration=0.25)
    if failed:
        result.failures.append(Failure("2", "cut", "x", "y"))
    progress.scenario_finished(result)
    progress.iteration_finished(1, [result])
    progress.close()


def test_a_terminal_gets_a_live_line_redrawn_in_place() -> None:
    stream = io.StringIO()
    drive(TerminalProgress(stream, live=True), failed=False)
    text = stream.getvalue()
    assert "\r\x1b[2K[1/1] cut: step 2/2 cut websocket  [" in text
    # the finished scenario stays as a line of its own; the live line is erased at the end
    assert "\r\x1b[2K[1/1] passed cut (0.25s)\n" in text
    assert text.endswith("\r\x1b[2K")


def test_a_log_gets_plain_lines_only() -> None:
    stream = io.StringIO()
    drive(TerminalProgress(stream, live=False), failed=True)
    assert stream.getvalue().splitlines() == [
        "running 1 scenario, 1x",
        "[1/1] FAILED cut (0.25s): step 2 (cut): expected x, observed y",
        "pass 1: 0/1 scenarios passed",
    ]


def test_verbose_adds_a_line_per_step_and_quiet_prints_nothing() -> None:
    stream = io.StringIO()
    drive(TerminalProgress(stream, live=False, verbose=True), failed=False)
    assert "[1/1] cut: step 1/2 connect" in stream.getvalue().splitlines()
    quiet = io.StringIO()
    drive(TerminalProgress(quiet, live=True, quiet=True), failed=True)
    assert quiet.getvalue() == ""
