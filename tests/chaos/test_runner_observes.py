"""The runner judges what it observes, not what the client says: its own deadline for lost
queries and hung steps, the back end's ledger for duplicates (its own clock for reconnects:
``tests/scenarios/test_suite_runs.py``).

Each test runs scenarios of a few steps through the real emulator and embedded Toxiproxy, with a
client adapter that misbehaves in one precise way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chaos.adapter import (
    Answer,
    ClientFactory,
    ClientSettings,
    ResilientClientAdapter,
    StatusEvent,
    resilient_client,
)
from chaos.gates import evaluate_all, parse_gate
from chaos.outcomes import ERRORED, RunResult
from chaos.runner import RunConfig, Runner
from chaos.scenario import Scenario, parse

pytestmark = pytest.mark.timeout(60)


def scenario(name: str, steps: list[Any], **fields: Any) -> Scenario:
    return parse({"name": name, "steps": steps, **fields}, f"{name}.yaml")


async def run(factory: ClientFactory, *scenarios: Scenario) -> RunResult:
    return await Runner(RunConfig(scenarios=list(scenarios), factory=factory, seed=4)).run()


class GivesUp:
    """A client whose every operation ends at once in its own TimeoutError."""

    status = "disconnected"

    def __init__(self, settings: ClientSettings) -> None:
        pass

    async def connect(self) -> bool:
        raise TimeoutError("opening handshake timed out")

    async def query(self, text: str, *, query_id: str) -> Answer:
        raise TimeoutError("query timed out")

    async def reconnect(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def subscribe(self, callback: Callable[[StatusEvent], None]) -> Callable[[], None]:
        return lambda: None


async def test_a_client_timing_out_by_itself_errs_at_once_and_is_not_lost_or_hung() -> None:
    result = await run(
        GivesUp,
        scenario("query", [{"query": {"expect": {"transport": "error"}}}]),
        scenario("connect", ["connect"]),
    )

    query, connect = result.results
    assert query.passed, query.failures
    [record] = query.records
    assert (record.outcome, record.error) == (ERRORED, "TimeoutError: query timed out")
    assert record.latency < 1.0  # the runner's lost-query deadline (3 s) did not run out
    assert [failure.message for failure in connect.failures] == [
        "step 1 (connect): expected the step to complete, "
        "observed error: TimeoutError: opening handshake timed out"
    ]
    assert connect.duration < 2.0  # not the step deadline (over 5 s)


class RetriesUnderAFreshId(ResilientClientAdapter):
    """Sends each query twice: first under an id of its own (the answer is dropped), then under
    the runner's. The sample back end runs each id once, so it runs every query twice."""

    async def query(self, text: str, *, query_id: str) -> Answer:
        await self.client.send_query(text)
        return await super().query(text, query_id=query_id)


def retrying(settings: ClientSettings) -> RetriesUnderAFreshId:
    return RetriesUnderAFreshId(resilient_client(settings).client)


async def test_a_query_run_twice_under_two_ids_is_duplicated_and_fails_the_gate() -> None:
    two_queries = scenario(
        "two-queries",
        ["connect", {"query": {"expect": {"transport": "websocket"}}}, "query"],
        expect={"duplicated_queries": 0},
    )

    result = await run(retrying, two_queries)

    [outcome] = result.results
    assert outcome.figures.duplicated == 2
    assert [failure.message for failure in outcome.failures] == [
        "expect: expected duplicated_queries <= 0, observed 2"
    ]
    [gate] = evaluate_all([parse_gate("duplicated_queries == 0")], result.figures)
    assert (gate.passed, gate.observed) == (False, 2.0)
