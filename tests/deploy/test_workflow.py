"""The GitHub Actions example runs a valid ``wschaos run`` with gates and reports."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml


@pytest.fixture(scope="module")
def workflow(root: Path) -> dict[str, Any]:
    return yaml.safe_load((root / "deploy" / "github-actions-wschaos.yml").read_text())


def wschaos_commands(workflow: dict[str, Any]) -> list[list[str]]:
    """Every ``wschaos ...`` command line of the workflow's run steps, with env expanded."""
    env = workflow.get("env", {})
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            # A folded (>-) run is one line; a literal (|) one has a command per line.
            for line in step.get("run", "").splitlines():
                words = [_expand(word, env) for word in shlex.split(line)]
                if words and Path(words[0]).name == "wschaos":
                    commands.append(words[1:])
    return commands


def _expand(word: str, env: dict[str, str]) -> str:
    for name, value in env.items():
        word = word.replace(f"${name}", value).replace(f"${{{name}}}", value)
    return os.path.expandvars(word)


def test_the_workflow_runs_on_pull_requests(workflow: dict[str, Any]) -> None:
    # PyYAML reads the bare key `on` as True.
    triggers = workflow.get("on", workflow.get(True))
    assert "pull_request" in triggers


def test_the_workflow_runs_wschaos_with_gates_and_reports(workflow: dict[str, Any]) -> None:
    from chaos.cli import build_parser
    from chaos.gates import parse_gate

    (command,) = wschaos_commands(workflow)
    args = build_parser().parse_args(command)
    assert args.command == "run"
    assert args.junit and args.json
    gates = [parse_gate(expression) for expression in args.gate]
    # The gates a CI job most needs: nothing lost, nothing run twice, a bound on reconnect time.
    assert {"lost_queries", "duplicated_queries", "reconnect_p95"} <= {g.name for g in gates}
