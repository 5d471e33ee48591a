"""How to run wschaos scenarios from a test and assert on their outcome.

``wschaos_scenario.run`` takes a scenario file (the built-in suite lives in
``scenarios.suite_path()``) or inline steps in the scenario file's format, runs it against this
test's emulator (your API config, if you override ``wschaos_api_config``) through Toxiproxy, and
returns the :class:`chaos.outcomes.ScenarioResult`. It raises ``ScenarioFailed`` naming every
unmet expectation, unless ``check=False``.
"""

from __future__ import annotations

from chaos.testing import ScenarioRunner
from scenarios import suite_path


async def test_a_built_in_scenario_passes(wschaos_scenario: ScenarioRunner):
    result = await wschaos_scenario.run(suite_path() / "network-cut-short.yaml")

    assert result.passed
    assert result.figures.lost == 0


async def test_inline_steps_prove_the_rest_fallback(wschaos_scenario: ScenarioRunner):
    result = await wschaos_scenario.run(
        steps=[
            "connect",
            {"query": {"text": "EC2 spend", "expect": {"transport": "websocket"}}},
            {"cut": "websocket"},
            {"expect_status": {"status": "failed", "within": "30s"}},
            {"query": {"expect": {"transport": "rest"}}},
            {"restore": "websocket"},
            {"query": {"expect": {"transport": "websocket", "max_reconnects": 1}}},
        ],
        expect={"lost_queries": 0, "duplicated_queries": 0},
    )

    assert result.figures.by_transport == {"websocket": 2, "rest": 1}


async def test_your_own_client_through_an_adapter(wschaos_scenario: ScenarioRunner):
    # Any client plugs in through an adapter factory (module:factory, as `wschaos run --client`
    # takes). This one is the seed's naive client: no heartbeat, no reconnect, no fallback.
    result = await wschaos_scenario.run(
        suite_path() / "network-cut-long.yaml",
        client="chaos.testing.naive:naive_client",
        check=False,
    )

    assert not result.passed
    # It never notices the cut: no heartbeat, so no reconnect attempts, so never "failed".
    assert "observed status disconnected" in result.failures[0].message
