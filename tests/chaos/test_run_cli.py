"""``wschaos run`` and ``wschaos scenarios``: argument handling and exit statuses.

Bad input of every kind is exit 2 with one line on stderr naming the file, field and value, and
nothing runs: no progress line, no report file, no port bound.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from chaos.cli import main
from scenarios import suite_files

GOOD = "name: good\ndescription: Connects.\nsteps: [connect]\n"


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--gate", "success_rate => 1"],
            "--gate: 'success_rate => 1': expected NAME OP VALUE",
        ),
        (["--gate", "speed >= 1"], "--gate: 'speed >= 1': unknown name 'speed'"),
        (["--gate", "reconnect_p95 <= soon"], "--gate: 'reconnect_p95 <= soon': soon: not a"),
        (["--client", "nocolon"], "--client: 'nocolon': expected module:factory"),
        (["--client", "no.such.module:f"], "--client: 'no.such.module:f': cannot import"),
        (
            ["--client", "chaos.adapter:nothing"],
            "--client: 'chaos.adapter:nothing': chaos.adapter has no 'nothing'",
        ),
        (
            ["--client", "chaos.adapter:DEFAULT_CLIENT"],
            "--client: 'chaos.adapter:DEFAULT_CLIENT': 'DEFAULT_CLIENT' is not callable",
        ),
    ],
)
def test_bad_gate_or_client_is_exit_2_and_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    good: Path,
    extra: list[str],
    message: str,
) -> None:
    report = tmp_path / "run.json"
    status, out, err = run_cli(capsys, "run", str(good), "--json", str(report), *extra)
    assert status == 2
    assert err.startswith(f"wschaos run: error: {message}"), err
    assert err.count("\n") == 1
    assert out == ""
    assert not report.exists()


def test_a_client_module_that_fails_to_import_is_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    good: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "broken_client.py").write_text("def factory(settings):\n    return (\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status, out, err = run_cli(capsys, "run", str(good), "--client", "broken_client:factory")
    assert (status, out) == (2, "")
    assert err.startswith(
        "wschaos run: error: --client: 'broken_client:factory': cannot import 'broken_client': "
        "SyntaxError: "
    ), err
    assert err.count("\n") == 1


def test_bad_scenario_file_names_file_step_and_key_and_nothing_runs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, good: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nsteps:\n  - connect\n"
        "  - {toxic: {target: websocket, type: bandwidth, attributes: {rate: fast}}}\n"
    )
    status, out, err = run_cli(capsys, "run", str(good), str(bad), "--metrics-port", "0")
    assert (status, out) == (2, "")
    assert err == (
        f"wschaos run: error: {bad}: step 2 (toxic): attributes.rate: 'fast': "
        "must be an integer >= 0\n"
    )


def test_missing_scenario_file_and_unwritable_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, good: Path
) -> None:
    status, _, err = run_cli(capsys, "run", str(tmp_path / "gone.yaml"))
    assert status == 2
    assert err == f"wschaos run: error: {tmp_path / 'gone.yaml'}: no such scenario file\n"

    status, _, err = run_cli(capsys, "run", str(good), "--junit", str(tmp_path))
    assert status == 2
    assert err == f"wschaos run: error: --junit: {str(tmp_path)!r}: is a directory\n"

    blocker = tmp_path / "file"
    blocker.write_text("")
    status, _, err = run_cli(capsys, "run", str(good), "--metrics-file", f"{blocker}/m.prom")
    assert status == 2
    assert "--metrics-file: " in err and "cannot create a file there" in err


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--repeat", "-1"], "argument --repeat: '-1': must be 0 or more"),
        (["--time-scale", "0"], "argument --time-scale: '0': must be a positive number"),
        (["--metrics-port", "99999"], "argument --metrics-port: '99999': a port is 0-65535"),
        (["-v", "-q"], "argument -q/--quiet: not allowed with argument -v/--verbose"),
    ],
)
def test_bad_options_are_usage_errors(
    capsys: pytest.CaptureFixture[str], good: Path, argv: list[str], problem: str
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["run", str(good), *argv])
    assert raised.value.code == 2
    assert problem in capsys.readouterr().err


def test_scenarios_lists_the_builtin_suite(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "scenarios")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == len(suite_files()) >= 16
    names = [line.split()[0] for line in lines]
    assert names == sorted(names)
    assert "idle-timeout" in names and "half-open" in names
    for line in lines:
        assert len(line.split(None, 1)) == 2  # every scenario has a description


def test_scenarios_with_paths_validates_them(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, good: Path
) -> None:
    status, out, _ = run_cli(capsys, "scenarios", str(good))
    assert (status, out) == (0, "good  Connects.\n")
    (tmp_path / "worse.yaml").write_text("name: worse\nsteps: [{wait: {for: 1s}}]\n")
    status, out, err = run_cli(capsys, "scenarios", str(tmp_path))
    assert (status, out) == (2, "")
    assert err.startswith(f"wschaos scenarios: error: {tmp_path / 'worse.yaml'}: step 1 (wait)")


def test_python_dash_m_chaos_runs_the_same_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "scenarios"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(suite_files())
