"""The built-in suite: every file validates, is described, and ships in the installed package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.scenario import Query, Toxic, iter_steps, load, load_all
from scenarios import suite_files, suite_path

ROOT = Path(__file__).resolve().parents[2]

#: The suite the issue asks for, by file name.
EXPECTED = {
    "idle-timeout",
    "heartbeat-keepalive",
    "max-connection-duration",
    "network-cut-short",
    "network-cut-long",
    "manual-reconnect",
    "half-open",
    "latency-jitter",
    "slow-link",
    "flapping",
    "connection-reset",
    "gateway-deploy",
    "backend-delete",
    "connect-throttling",
    "lost-reply",
    "rest-down",
}


def test_suite_path_is_the_scenarios_package() -> None:
    assert suite_path() == ROOT / "scenarios"
    assert {path.stem for path in suite_files()} == EXPECTED


@pytest.mark.parametrize("path", suite_files(), ids=lambda path: path.stem)
def test_each_file_validates_is_named_after_its_file_and_described(path: Path) -> None:
    scenario = load(path)
    assert scenario.name == path.stem
    assert 20 < len(scenario.description) <= 140
    assert scenario.description.endswith(".")
    # Every scenario checks what it promises: lost and duplicated queries are never allowed.
    assert {gate.expression for gate in scenario.expect} >= {
        "lost_queries <= 0",
        "duplicated_queries <= 0",
    }
    assert any(isinstance(step, Query) and step.expect.transport for step in scenario.steps)


def test_time_scales_follow_the_design() -> None:
    scales = {scenario.name: scenario.time_scale for scenario in load_all([suite_path()])}
    assert scales.pop("idle-timeout") == 600
    assert scales.pop("heartbeat-keepalive") == 600
    assert scales.pop("max-connection-duration") == 3600
    assert set(scales.values()) == {None}  # the run's default, 60


def test_the_toxic_scenarios_use_the_toxics_the_issue_names() -> None:
    toxics = {
        scenario.name: {step.type for step in iter_steps(scenario.steps) if isinstance(step, Toxic)}
        for scenario in load_all([suite_path()])
    }
    assert toxics["half-open"] == {"timeout"}
    assert toxics["connection-reset"] == {"reset_peer"}
    assert toxics["latency-jitter"] == {"latency"}
    assert toxics["slow-link"] == {"bandwidth"}


@pytest.mark.timeout(120)
def test_a_non_editable_install_finds_the_suite(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source, wheels, target = tmp_path / "src", tmp_path / "wheels", tmp_path / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("emulator", "client", "chaos", "scenarios"):
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)],
        check=True,
        timeout=100,
        capture_output=True,
    )
    [wheel] = wheels.glob("*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=60,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import scenarios, sys; print(scenarios.__file__); print(len(scenarios.suite_files()))",
        ],
        cwd=tmp_path,  # not the checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    module_file, count = probe.stdout.split()
    assert Path(module_file).is_relative_to(target)
    assert int(count) == len(EXPECTED)
    listing = subprocess.run(
        [sys.executable, "-m", "chaos", "scenarios"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert {line.split()[0] for line in listing.stdout.splitlines()} == EXPECTED
