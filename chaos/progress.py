"""Progress of a run on a terminal: one live line on a TTY, plain lines otherwise.

On a TTY the current scenario and step are redrawn in place (``\\r`` and erase-line) and each
finished scenario leaves one permanent line. Elsewhere (CI logs) only finished scenarios are
printed, one line each; ``verbose`` adds a line per step.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TextIO

from chaos.outcomes import ScenarioResult
from chaos.runner import Progress
from chaos.scenario import Scenario, Step

__all__ = ["TerminalProgress"]

_ERASE = "\r\x1b[2K"


class TerminalProgress(Progress):
    """Writes progress to ``stream``.

    Args:
        stream: where to write (stderr).
        live: redraw a single status line (a TTY); False = plain lines.
        verbose: print every step.
        quiet: print nothing.
    """

    def __init__(
        self, stream: TextIO, *, live: bool, verbose: bool = False, quiet: bool = False
    ) -> None:
        self.stream = stream
        self.live = live and not quiet
        self.verbose = verbose and not quiet
        self.quiet = quiet
        self._prefix = ""
        self._run_started = time.monotonic()
        self._steps = 0
        self._line = ""

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def _status(self, text: str) -> None:
        self._line = text
        self.refresh()

    def refresh(self) -> None:
        """Redraw the live line with the elapsed time (called periodically during long steps)."""
        if self.live and self._line:
            elapsed = time.monotonic() - self._run_started
            self._write(f"{_ERASE}{self._line}  [{elapsed:.1f}s]")

    def run_started(self, scenarios: Sequence[Scenario], repeat: int) -> None:
        self._run_started = time.monotonic()
        if not self.quiet:
            passes = "until stopped" if repeat == 0 else f"{repeat}x"
            count = f"{len(scenarios)} scenario" + ("s" if len(scenarios) != 1 else "")
            self._write(f"running {count}, {passes}\n")

    def scenario_started(self, scenario: Scenario, index: int, total: int, iteration: int) -> None:
        self._steps = len(scenario.steps)
        self._prefix = f"[{index}/{total}" + (f" #{iteration}" if iteration > 1 else "") + "]"
        self._status(f"{self._prefix} {scenario.name}")

    def step_started(self, scenario: Scenario, step: Step) -> None:
        text = f"{self._prefix} {scenario.name}: step {step.label}/{self._steps} {step.describe()}"
        if self.verbose:
            self._write((_ERASE if self.live else "") + text + "\n")
        self._status(text)

    def scenario_finished(self, result: ScenarioResult) -> None:
        if self.quiet:
            return
        verdict = "passed" if result.passed else "FAILED"
        self._line = ""
        line = f"{self._prefix} {verdict} {result.name} ({result.duration:.2f}s)"
        if result.failures:
            line += f": {result.failures[0].message}"
        self._write((_ERASE if self.live else "") + line + "\n")

    def iteration_finished(self, iteration: int, results: Sequence[ScenarioResult]) -> None:
        if self.quiet:
            return
        passed = sum(result.passed for result in results)
        self._write(
            (_ERASE if self.live else "")
            + f"pass {iteration}: {passed}/{len(results)} scenarios passed\n"
        )

    def close(self) -> None:
        """Erase the live line."""
        self._line = ""
        if self.live:
            self._write(_ERASE)
