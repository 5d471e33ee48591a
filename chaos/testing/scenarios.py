"""Running a scenario file or inline steps from a test, against the test's own emulator.

:class:`ScenarioRunner` builds a :class:`chaos.scenario.Scenario` (from a file, a mapping, or
steps in the file's format) and runs it with :class:`chaos.runner.Runner` on a
:class:`~chaos.testing.loop_thread.LoopThread`, pointed at the test's emulator and Toxiproxy. A
scenario that does not pass raises :class:`ScenarioFailed` naming every unmet expectation.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.errors import ChaosError
from chaos.testing.emulators import Emulator, EmulatorPool
from chaos.testing.settings import ENDPOINT_ENV

if TYPE_CHECKING:
    from chaos.adapter import ClientFactory
    from chaos.outcomes import ScenarioResult
    from chaos.scenario import Scenario
    from chaos.testing.loop_thread import LoopThread
    from emulator import ApiConfig, Gateway, IntegrationError

__all__ = ["ScenarioFailed", "ScenarioRunner", "scenario_name"]

#: Characters of a test's name kept in its scenarios' names.
_NAME_CHARS = 60


def scenario_name(test_name: str) -> str:
    """The default name of a test's inline scenarios: its name as a slug (``scenario`` if
    nothing is left)."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", test_name.lower()).strip("-") or "scenario"
    return slug[:_NAME_CHARS]


class ScenarioFailed(ChaosError, AssertionError):
    """A scenario run did not pass; the message lists every unmet expectation.

    Attributes:
        result: the run's :class:`chaos.outcomes.ScenarioResult`.
    """

    def __init__(self, result: ScenarioResult) -> None:
        lines = [f"scenario {result.name} failed:"]
        lines += [f"  {failure.message}" for failure in result.failures]
        super().__init__("\n".join(lines))
        self.result = result


class ScenarioRunner:
    """Runs scenarios against a test's emulator through Toxiproxy (``wschaos_scenario``).

    Args:
        worker: the loop the runner and the scenario's client run on.
        emulators: the session's emulators (a twin at time scale 1 comes from here).
        emulator: the test's emulator; its handlers serve the scenario.
        config: the test's API config (for the twin); None = the sample API.
        toxiproxy_url: the Toxiproxy API.
        upstream_host: how that Toxiproxy reaches the emulator; None = its own address.
        adapter: the client factory scenarios drive unless :meth:`run` names another.
        name: the default name of inline scenarios (``name-2``, ``name-3``... after the first).
    """

    def __init__(
        self,
        *,
        worker: LoopThread,
        emulators: EmulatorPool,
        emulator: Emulator,
        config: ApiConfig | None,
        toxiproxy_url: str,
        upstream_host: str | None,
        adapter: ClientFactory,
        name: str,
    ) -> None:
        self._worker = worker
        self._emulators = emulators
        self._emulator = emulator
        self._config = config
        self._toxiproxy_url = toxiproxy_url
        self._upstream_host = upstream_host
        self._adapter = adapter
        self._name = name
        self._count = 0

    def _target(self) -> Emulator:
        # The runner scales each scenario's timings itself and expects an emulator at time
        # scale 1 (chaos.services); a test's emulator at another scale gets a twin at 1.
        if self._emulator.time_scale == 1:
            return self._emulator
        return Emulator(self._emulators.get(self._config, 1.0))

    def load(
        self,
        source: str | Path | Mapping[str, Any] | None = None,
        *,
        steps: list[Any] | None = None,
        client_options: Mapping[str, Any] | None = None,
        **fields: Any,
    ) -> Scenario:
        """A validated :class:`chaos.scenario.Scenario` from a file, a mapping, or ``steps``.

        ``client_options`` is the scenario file's ``client:`` block; ``fields`` are its other
        top-level keys (``name``, ``description``, ``time_scale``, ``gateway``, ``expect``).

        Raises:
            ScenarioError: it does not validate (the message names the step and key).
            TypeError: a file together with steps or fields.
        """
        from chaos.scenario import load, parse

        if source is not None and not isinstance(source, Mapping):
            if steps is not None or client_options is not None or fields:
                raise TypeError("give a scenario file, or steps and fields, not both")
            return load(source)
        self._count += 1
        document: dict[str, Any] = dict(source or {})
        if steps is not None:
            document["steps"] = steps
        if client_options is not None:
            document["client"] = dict(client_options)
        document.update(fields)
        document.setdefault(
            "name", f"{self._name}-{self._count}" if self._count > 1 else self._name
        )
        return parse(document, f"<{document['name']}>")

    async def run(
        self,
        source: str | Path | Mapping[str, Any] | None = None,
        *,
        steps: list[Any] | None = None,
        client: ClientFactory | str | None = None,
        client_options: Mapping[str, Any] | None = None,
        time_scale: float = 60.0,
        seed: int | None = None,
        check: bool = True,
        **fields: Any,
    ) -> ScenarioResult:
        """Run one scenario and return its result.

        The run is bounded by the scenario itself (the runner bounds every step). Handler
        failures it causes fail the test at the emulator's teardown, except the integration
        timeouts a ``stall_integrations`` fault causes on purpose.

        Args:
            source: a scenario file, or a mapping shaped like one; None with ``steps``.
            steps: inline steps, as in a scenario file (``["connect", {"query": {...}}]``).
            client: the adapter factory (or ``module:factory``); None = the fixture's adapter.
            client_options: the scenario's ``client:`` block (``{"heartbeat_interval": None}``).
            time_scale: N for a scenario that does not set its own (``wschaos run``'s default).
            seed: seeds the client's jitter and the toxicity draws; None = unseeded.
            check: raise :class:`ScenarioFailed` when the scenario does not pass.
            fields: other top-level scenario keys (``name``, ``expect``, ``gateway``...).

        Raises:
            ScenarioFailed: ``check`` and an expectation was not met.
            ScenarioError: the scenario does not validate.
            UserError: ``client`` names no factory.
        """
        from chaos.adapter import load_factory
        from chaos.runner import RunConfig, Runner
        from chaos.scenario import Fault, check_gateway, iter_steps

        scenario = self.load(source, steps=steps, client_options=client_options, **fields)
        check_gateway(scenario)
        factory = load_factory(client) if isinstance(client, str) else client or self._adapter
        target = self._target()
        twin = target is not self._emulator
        if twin:
            target.take_handler_errors()  # an earlier test's, on the shared twin
        config = RunConfig(
            scenarios=[scenario],
            factory=factory,
            client_spec=client if isinstance(client, str) else getattr(factory, "__name__", ""),
            time_scale=time_scale,
            seed=seed,
            emulator_url=target.ws_url,
            emulator_rest_port=target.server.rest_port,
            toxiproxy_url=self._toxiproxy_url,
            upstream_host=self._upstream_host,
        )
        stalls = any(
            isinstance(step, Fault) and step.type == "stall_integrations"
            for step in iter_steps(scenario.steps)
        )
        # Snapshot through the emulator's loop: the list changes in its threads.
        before = target.server.call(lambda gateway: list(gateway.handler_errors))
        saved = os.environ.get(ENDPOINT_ENV)
        os.environ[ENDPOINT_ENV] = target.management_url  # the twin's handlers post to the twin
        try:
            result = (await self._worker.call(Runner(config).run(), timeout=None)).results[0]
        finally:
            if saved is None:
                os.environ.pop(ENDPOINT_ENV, None)
            else:
                os.environ[ENDPOINT_ENV] = saved
        if stalls:
            _forgive_timeouts(target, before)
        if twin:
            target.check()
        if check and not result.passed:
            raise ScenarioFailed(result)
        return result

    def run_sync(self, *args: Any, **kwargs: Any) -> ScenarioResult:
        """:meth:`run`, for tests that are not coroutines (same arguments)."""
        return self._worker.run(self.run(*args, **kwargs), timeout=None)


def _forgive_timeouts(target: Emulator, before: list[IntegrationError]) -> None:
    """Drop the integration timeouts a ``stall_integrations`` fault caused on purpose, once the
    stalled handlers have ended (their timeouts are recorded when the budget runs out, which
    may be after the scenario's last step)."""
    from emulator import IntegrationTimeout

    target.settle()
    known = {id(error) for error in before}  # ``before`` keeps them alive: ids stay unique

    def forgive(gateway: Gateway) -> None:
        for error in list(gateway.handler_errors):
            if id(error) not in known and isinstance(error, IntegrationTimeout):
                gateway.handler_errors.remove(error)

    target.server.call(forgive)
