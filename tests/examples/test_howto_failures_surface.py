"""What a test sees when something fails in the background: it fails, naming the cause.

A handler that raises (even a ``$disconnect`` handler still running when the test body ends), a
fault task that fails and a scenario that does not pass each make the test fail, not just a log
line. This file runs a small suite of its own with pytest and checks how each of its tests ends.
In a project without pytest-asyncio only the tests that use the async fixtures fail: installing
wschaos never breaks a project's pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

INNER_TESTS = """
import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from emulator import ApiConfig


@pytest.fixture(scope="module")
def wschaos_api_config():
    return ApiConfig.from_mapping({"routes": {"crash": "inner_handlers:crash"}})


async def test_a_handler_raises(wschaos_emulator):
    async with connect(wschaos_emulator.ws_url) as ws:
        await ws.send(json.dumps({"action": "crash"}))
        await ws.recv()  # "Internal server error": the test body itself passes


async def test_a_fault_task_fails(wschaos_background):
    async def fault():
        raise RuntimeError("the fault could not be applied")

    task = wschaos_background.spawn(fault())
    await asyncio.wait([task])


async def test_a_scenario_does_not_pass(wschaos_scenario):
    await wschaos_scenario.run(steps=["connect", {"query": {"expect": {"transport": "rest"}}}])


async def test_all_is_well(wschaos_emulator, wschaos_background):
    wschaos_background.spawn(asyncio.sleep(0))
"""

INNER_DISCONNECT_TESTS = """
import pytest
from websockets.asyncio.client import connect

from emulator import ApiConfig


@pytest.fixture(scope="module")
def wschaos_api_config():
    return ApiConfig.from_mapping({"routes": {"$disconnect": "inner_handlers:forget_session"}})


async def test_a_disconnect_handler_raises(wschaos_emulator):
    async with connect(wschaos_emulator.ws_url):
        pass  # closing runs $disconnect, which fails after the test body has ended
"""

INNER_HANDLERS = """
import time


def crash(event, context):
    raise KeyError("user_id")


def forget_session(event, context):
    time.sleep(0.05)  # a moment of work (a table write) before it fails
    raise KeyError("session")
"""

INNER_WITHOUT_ASYNCIO_TESTS = """
def test_a_sync_fixture(wschaos_client_options):
    assert wschaos_client_options == {}


def test_an_async_fixture(wschaos_background):
    pass
"""

INNER_INI = """\
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str]]]:
    """Inner test name -> [(result element, its text)] from the inner run's JUnit report."""
    folder = tmp_path_factory.mktemp("inner")
    (folder / "pytest.ini").write_text(INNER_INI)
    (folder / "inner_handlers.py").write_text(INNER_HANDLERS)
    (folder / "test_inner.py").write_text(INNER_TESTS)
    (folder / "test_inner_disconnect.py").write_text(INNER_DISCONNECT_TESTS)
    report = folder / "report.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}"],
        cwd=folder,
        capture_output=True,
        timeout=120,
        check=False,
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        found[case.get("name", "")] = [
            (child.tag, f"{child.get('message', '')}\n{child.text or ''}")
            for child in case
            if child.tag in ("failure", "error")
        ]
    return found


def test_a_handler_exception_fails_the_test_at_teardown(outcomes: dict[str, list]) -> None:
    ((kind, text),) = outcomes["test_a_handler_raises"]
    assert kind == "error"  # raised by the fixture's teardown
    assert "inner_handlers:crash raised KeyError" in text


def test_a_late_disconnect_handler_failure_fails_its_own_test(outcomes: dict[str, list]) -> None:
    ((kind, text),) = outcomes["test_a_disconnect_handler_raises"]
    assert kind == "error"
    assert "inner_handlers:forget_session raised KeyError" in text


def test_a_background_task_failure_fails_the_test(outcomes: dict[str, list]) -> None:
    ((kind, text),) = outcomes["test_a_fault_task_fails"]
    assert kind == "error"
    assert "RuntimeError: the fault could not be applied" in text


def test_a_failed_scenario_fails_the_test_naming_the_step(outcomes: dict[str, list]) -> None:
    ((kind, text),) = outcomes["test_a_scenario_does_not_pass"]
    assert kind == "failure"
    assert "step 2 (query): expected an answer over rest" in text


def test_nothing_is_reported_when_nothing_failed(outcomes: dict[str, list]) -> None:
    assert outcomes["test_all_is_well"] == []


def test_every_inner_test_ran(outcomes: dict[str, list]) -> None:
    assert set(outcomes) == {
        "test_a_handler_raises",
        "test_a_disconnect_handler_raises",
        "test_a_fault_task_fails",
        "test_a_scenario_does_not_pass",
        "test_all_is_well",
    }


def test_without_pytest_asyncio_only_the_async_fixtures_fail(tmp_path: Path) -> None:
    # The plugin loads in every pytest run of the environment wschaos is installed in.
    blocked = tmp_path / "blocked"
    (blocked / "pytest_asyncio").mkdir(parents=True)
    (blocked / "pytest_asyncio" / "__init__.py").write_text(
        'raise ImportError("pytest-asyncio is not installed")\n'
    )
    (tmp_path / "test_inner.py").write_text(INNER_WITHOUT_ASYNCIO_TESTS)
    path = os.pathsep.join(filter(None, [str(blocked), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert "1 passed, 1 error" in done.stdout, done.stdout + done.stderr
    assert "test_an_async_fixture" in done.stdout and "'wschaos_background'" in done.stdout
