"""How to configure the wschaos fixtures from the environment, without touching the tests.

``WSCHAOS_API_CONFIG`` names an API config file, ``WSCHAOS_TIME_SCALE`` sets N, ``TOXIPROXY_URL``
a running Toxiproxy, ``WSCHAOS_CLIENT`` the adapter scenarios drive. A fixture override wins
over its variable. This file runs a small suite with pytest under such an environment.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

INNER_TESTS = """
def test_the_environment_configures_the_emulator(wschaos_emulator, wschaos_time_scale):
    assert wschaos_time_scale == 600
    assert wschaos_emulator.time_scale == 600
    assert wschaos_emulator.ws_url.endswith("/dev")
"""

INNER_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def run_inner(
    folder: Path, tests: str = INNER_TESTS, **env: str
) -> subprocess.CompletedProcess[str]:
    (folder / "pytest.ini").write_text(INNER_INI)
    (folder / "api.yaml").write_text("stage: dev\nidle_timeout: 10m\n")
    (folder / "test_inner.py").write_text(tests)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=folder,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_variables_configure_the_fixtures(tmp_path: Path) -> None:
    done = run_inner(tmp_path, WSCHAOS_API_CONFIG="api.yaml", WSCHAOS_TIME_SCALE="600")

    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("WSCHAOS_TIME_SCALE", "fast", "WSCHAOS_TIME_SCALE: 'fast': not a number"),
        ("WSCHAOS_API_CONFIG", "missing.yaml", "WSCHAOS_API_CONFIG: missing.yaml"),
        ("WSCHAOS_CLIENT", "nowhere", "WSCHAOS_CLIENT: --client: 'nowhere'"),
    ],
)
def test_a_bad_variable_is_named_in_one_line(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    tests = "def test_configured(wschaos_emulator, wschaos_client_adapter):\n    pass\n"
    done = run_inner(tmp_path, tests, **{variable: value})

    assert done.returncode == 1
    assert message in done.stdout
    # A traceback would show source lines as "path.py:LINE:"; one line names only the variable.
    assert not re.search(r"\.py:\d+", done.stdout), "a traceback instead of one line"
