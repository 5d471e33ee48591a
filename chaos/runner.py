"""The scenario runner: runs validated scenarios against a client adapter and measures them.

Each scenario run is isolated (emulator reset, fresh proxies, a fresh client on a fresh metrics
registry). Steps run in order; the first unmet expectation ends the scenario with a
:class:`~chaos.outcomes.Failure` naming the step, what was expected and what happened. Once every
step has passed, the scenario's ``expect:`` block is checked against its figures. Outcomes are
computed by the runner from what it observes (design §9): query answers with their ids, status
events timed in real seconds, and the back end's query ledger.

Every wait is bounded: a query by the lost-query deadline, a status by its ``within``, any other
client call by :data:`STEP_GRACE` on top of the client's own budgets.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry

from chaos.adapter import DEFAULT_CLIENT, ClientAdapter, ClientFactory, ClientSettings, StatusEvent
from chaos.errors import ChaosError
from chaos.gates import Gate, evaluate_all, format_value
from chaos.metrics import RunMetrics
from chaos.outcomes import (
    ANSWERED,
    ERRORED,
    LOST,
    Failure,
    Figures,
    QueryRecord,
    ReconnectTracker,
    RunResult,
    ScenarioResult,
    classify_answer,
    count_duplicates,
)
from chaos.pooling import PooledCollector
from chaos.scenario import (
    CLIENT_OPTIONS,
    Backend,
    ClearFaults,
    ClearToxics,
    Close,
    CloseConnections,
    Connect,
    Cut,
    ExpectStatus,
    Fault,
    Idle,
    Query,
    Reconnect,
    Repeat,
    Restore,
    Scenario,
    Step,
    Toxic,
    Wait,
)
from chaos.services import ScenarioEnvironment, Services, scale_fault
from client.options import ClientOptions
from emulator.timing import TimeScale, format_duration

__all__ = [
    "CLIENT_DEFAULTS",
    "LOST_GRACE",
    "STEP_GRACE",
    "Progress",
    "RunConfig",
    "Runner",
    "StepFailed",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Client option defaults (design §7), configured seconds, as the resilient client defines them:
#: the runner's deadlines use them when a scenario does not override them, whatever the client.
CLIENT_DEFAULTS: dict[str, Any] = {
    option.name: option.default
    for option in dataclasses.fields(ClientOptions)
    if option.name in CLIENT_OPTIONS
}
#: Real seconds a query may take beyond the client's own budgets before it counts as lost.
LOST_GRACE = 2.0
#: Real seconds a connect/reconnect/close may take beyond the client's budgets.
STEP_GRACE = 5.0


class StepFailed(ChaosError):
    """Ends a scenario run at the step whose expectation was not met."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class Progress:
    """Receives progress notifications; the default does nothing. All calls are on the loop."""

    def run_started(self, scenarios: Sequence[Scenario], repeat: int) -> None:
        """The run begins (``repeat`` 0 = until stopped)."""

    def scenario_started(self, scenario: Scenario, index: int, total: int, iteration: int) -> None:
        """Scenario ``index`` (1-based) of ``total`` begins, in repeat ``iteration``."""

    def step_started(self, scenario: Scenario, step: Step) -> None:
        """A step begins (steps inside a repeat are reported on each pass)."""

    def scenario_finished(self, result: ScenarioResult) -> None:
        """A scenario run ended."""

    def iteration_finished(self, iteration: int, results: Sequence[ScenarioResult]) -> None:
        """A whole pass over the scenarios ended (``results``: that pass's)."""


@dataclass
class RunConfig:
    """What to run and how.

    Attributes:
        scenarios: validated scenarios, in order.
        factory: builds the client adapter.
        client_spec: the factory's ``module:factory`` name, for reports.
        time_scale: the run's time scale N; a scenario's own ``time_scale`` wins.
        seed: seeds client jitter (per scenario, derived) and toxicity draws; None = unseeded.
        repeat: passes over the scenarios; 0 = until :meth:`Runner.stop`.
        gates: checked against the pooled figures at the end.
        registry: receives run, client and gateway metrics.
        emulator_url / emulator_rest_port / toxiproxy_url / upstream_host: running services
            (see :class:`chaos.services.Services`); None = in-process ones.
    """

    scenarios: list[Scenario]
    factory: ClientFactory
    client_spec: str = DEFAULT_CLIENT
    time_scale: float = 60.0
    seed: int | None = None
    repeat: int = 1
    gates: list[Gate] = field(default_factory=list)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    emulator_url: str | None = None
    emulator_rest_port: int | None = None
    toxiproxy_url: str | None = None
    upstream_host: str | None = None


class Runner:
    """Runs a :class:`RunConfig`; :meth:`run` returns the :class:`RunResult`.

    Args:
        config: what to run.
        progress: notified as the run goes.
    """

    def __init__(self, config: RunConfig, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress or Progress()
        self.metrics = RunMetrics(config.registry)
        self._clients = PooledCollector()
        config.registry.register(self._clients)
        self._stop = False

    def stop(self) -> None:
        """Stop after the scenario in progress (thread-safe)."""
        self._stop = True

    async def run(self) -> RunResult:
        """Run every scenario ``repeat`` times (0 = until stopped).

        Raises:
            UserError: a running service given on the command line cannot be reached.
        """
        config = self.config
        started = time.monotonic()
        result = RunResult(
            started_at=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            time_scale=config.time_scale,
            seed=config.seed,
            client=config.client_spec,
        )
        self.progress.run_started(config.scenarios, config.repeat)
        services = Services(
            emulator_url=config.emulator_url,
            emulator_rest_port=config.emulator_rest_port,
            toxiproxy_url=config.toxiproxy_url,
            upstream_host=config.upstream_host,
            seed=config.seed,
            registry=config.registry,
        )
        try:
            async with services:
                iteration = 0
                while config.repeat == 0 or iteration < config.repeat:
                    iteration += 1
                    this_pass: list[ScenarioResult] = []
                    for index, scenario in enumerate(config.scenarios, 1):
                        if self._stop:
                            break
                        self.progress.scenario_started(
                            scenario, index, len(config.scenarios), iteration
                        )
                        outcome = await self._run_scenario(services, scenario, iteration)
                        self.metrics.record(outcome)
                        result.results.append(outcome)
                        this_pass.append(outcome)
                        self.progress.scenario_finished(outcome)
                    if self._stop:
                        result.interrupted = True
                        break
                    self.progress.iteration_finished(iteration, this_pass)
        finally:
            self._clients.retire()
            result.duration = time.monotonic() - started
            result.gates = evaluate_all(config.gates, result.figures)
        return result

    def _seed_for(self, scenario: Scenario, iteration: int) -> int | None:
        if self.config.seed is None:
            return None
        # Per scenario and pass, so a scenario's draws do not depend on what ran before it.
        return random.Random(f"{self.config.seed}:{scenario.name}:{iteration}").getrandbits(32)

    async def _run_scenario(
        self, services: Services, scenario: Scenario, iteration: int
    ) -> ScenarioResult:
        scale = TimeScale(scenario.time_scale or self.config.time_scale)
        result = ScenarioResult(
            name=scenario.name,
            description=scenario.description,
            path=scenario.path,
            iteration=iteration,
            time_scale=scale.factor,
        )
        started = time.monotonic()
        duplicated = 0
        tracker = ReconnectTracker()
        try:
            async with services.scenario(scenario.name, scenario.gateway, scale) as env:
                settings = ClientSettings(
                    ws_url=env.ws_url,
                    rest_url=env.rest_url,
                    time_scale=scale.factor,
                    seed=self._seed_for(scenario, iteration),
                    registry=CollectorRegistry(auto_describe=True),
                    options=dict(scenario.client),
                )
                adapter = self.config.factory(settings)
                self._clients.attach(settings.registry)
                execution = Execution(scenario, scale, adapter, env, tracker, self.progress, result)
                try:
                    await execution.run()
                finally:
                    await execution.shutdown()
                    self._clients.retire()
                # The emulator was reset for this scenario: its whole ledger is this run's.
                ledger = await env.control.ledger()
                duplicated = count_duplicates(ledger, execution.sent_ids)
        except ChaosError as exc:
            result.failures.append(
                Failure(None, "setup", "the scenario's services to work", f"error: {exc}")
            )
        except Exception as exc:
            # A client adapter that cannot be built or observed (bad options, a broken
            # subscribe): this scenario fails with the reason, the run goes on.
            logger.debug("scenario %s: client adapter failed", scenario.name, exc_info=True)
            result.failures.append(
                Failure(None, "client", "a working client adapter", f"error: {_describe(exc)}")
            )
        result.figures = Figures.from_records(
            result.records,
            duplicated=duplicated,
            reconnect_times=tracker.durations,
            failed_reconnects=tracker.failed,
        )
        # The expect block judges a complete run; a failed step already says what went wrong.
        checked = scenario.expect if not result.failures else ()
        for gate_result in evaluate_all(checked, result.figures):
            if not gate_result.passed:
                result.failures.append(
                    Failure(
                        None,
                        "expect",
                        gate_result.gate.expression,
                        format_value(gate_result.gate.name, gate_result.observed),
                    )
                )
        result.duration = time.monotonic() - started
        return result


class Execution:
    """One scenario run's steps against one adapter."""

    def __init__(
        self,
        scenario: Scenario,
        scale: TimeScale,
        adapter: ClientAdapter,
        env: ScenarioEnvironment,
        tracker: ReconnectTracker,
        progress: Progress,
        result: ScenarioResult,
    ) -> None:
        self.scenario = scenario
        self.scale = scale
        self.adapter = adapter
        self.env = env
        self.tracker = tracker
        self.progress = progress
        self.result = result
        self.events: list[StatusEvent] = []
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._changed = asyncio.Event()
        self._unsubscribe: Callable[[], None] | None = None
        self._queries = 0
        #: Every ``query_id`` the client was asked to send (or said it sent).
        self.sent_ids: set[str] = set()
        options = {**CLIENT_DEFAULTS, **scenario.client}
        self.client_budget = (
            scale.budget(options["query_timeout"])
            + scale.budget(options["fallback_after"])
            + scale.budget(options["open_timeout"])
        )
        #: Real seconds after which a query counts as lost.
        self.lost_deadline = self.client_budget + LOST_GRACE
        #: Real seconds a connect, reconnect or close may take: every attempt with its backoff.
        attempt = self.client_budget + scale.duration(options["backoff_max"])
        self.step_deadline = attempt * options["max_reconnect_attempts"] + STEP_GRACE

    # -- status events ------------------------------------------------------------------------
    def _on_status(self, event: StatusEvent) -> None:
        # Timed by the runner's clock when the change reaches it (design §9: not the client's
        # word), before any hop between threads can delay it.
        event = dataclasses.replace(event, at=time.monotonic())
        if threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._record_status, event)
        else:
            self._record_status(event)

    def _record_status(self, event: StatusEvent) -> None:
        self.events.append(event)
        self.tracker.observe(event.state, event.at)
        self._changed.set()

    async def _wait_status(self, state: str, deadline: float, since: int) -> bool:
        """True once ``state`` is current or was entered after event ``since``."""
        end = time.monotonic() + deadline
        while True:
            if self.adapter.status == state or any(
                event.state == state for event in self.events[since:]
            ):
                return True
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()

    # -- running ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run every step; an unmet expectation ends the run with a recorded failure."""
        self._unsubscribe = self.adapter.subscribe(self._on_status)
        # Seed the tracker with the state the client starts in.
        self.tracker.observe(self.adapter.status, time.monotonic())
        try:
            await self._steps(self.scenario.steps)
        except StepFailed as failed:
            self.result.failures.append(failed.failure)

    async def shutdown(self) -> None:
        """Close the client (bounded) and stop listening to it."""
        try:
            async with asyncio.timeout(self.step_deadline):
                await self.adapter.close()
        except Exception as exc:  # the client's own failure to close is recorded, not raised
            if not self.result.failures:
                self.result.failures.append(
                    Failure(None, "close", "the client to close", f"error: {_describe(exc)}")
                )
        finally:
            if self._unsubscribe is not None:
                with contextlib.suppress(Exception):
                    self._unsubscribe()

    async def _steps(self, steps: Sequence[Step]) -> None:
        for step in steps:
            if isinstance(step, Repeat):
                for _ in range(step.times):
                    await self._steps(step.steps)
                continue
            self.progress.step_started(self.scenario, step)
            try:
                await self._step(step)
            except StepFailed:
                raise
            except Exception as exc:
                raise StepFailed(
                    Failure(
                        step.label, step.kind, "the step to complete", f"error: {_describe(exc)}"
                    )
                ) from exc

    async def _step(self, step: Step) -> None:
        match step:
            case Connect():
                await self._connect(step)
            case Close():
                await self._bounded(step, self.adapter.close())
                self.tracker.forget()
            case Reconnect():
                await self._bounded(step, self.adapter.reconnect())
            case Query():
                await self._query(step)
            case Idle(seconds=seconds) | Wait(seconds=seconds):
                await asyncio.sleep(self.scale.duration(seconds))
            case Cut(target=target):
                await self.env.proxies.cut(target)
            case Restore(target=target):
                await self.env.proxies.restore(target)
            case Toxic():
                await self.env.proxies.add_toxic(
                    step.target,
                    type=step.type,
                    attributes=dict(step.attributes),
                    name=step.name,
                    stream=step.stream,
                    toxicity=step.toxicity,
                )
            case ClearToxics(target=target):
                await self.env.proxies.clear_toxics(target)
            case Fault():
                await self.env.control.add_fault(scale_fault(step.body(), self.scale))
            case ClearFaults():
                await self.env.control.clear_faults()
            case Backend():
                await self.env.control.backend(step.action, step.body())
            case CloseConnections():
                await self.env.control.close_all(step.body())
            case ExpectStatus():
                await self._expect_status(step)
            case _:  # pragma: no cover - the model has no other steps
                raise AssertionError(f"unhandled step {step!r}")

    async def _bounded(self, step: Step, call: Awaitable[T]) -> T:
        deadline = asyncio.timeout(self.step_deadline)
        try:
            async with deadline:
                return await call
        except TimeoutError:
            if not deadline.expired():
                raise  # the client's own timeout: an error of the step, not a hang
            raise StepFailed(
                Failure(
                    step.label,
                    step.kind,
                    f"the step to finish within {_secs(self.step_deadline)}",
                    f"still running (status {self.adapter.status})",
                )
            ) from None

    async def _connect(self, step: Connect) -> None:
        connected = await self._bounded(step, self.adapter.connect())
        if not connected:
            raise StepFailed(
                Failure(step.label, step.kind, "connected", f"status {self.adapter.status}")
            )

    async def _expect_status(self, step: ExpectStatus) -> None:
        budget = self.scale.budget(step.within)
        since = len(self.events)
        if await self._wait_status(step.status, budget, since=since):
            return
        seen = [event.state for event in self.events[since:]]
        observed = f"status {self.adapter.status}"
        if seen:
            observed += f" (went through {', '.join(seen)})"
        raise StepFailed(
            Failure(
                step.label,
                step.kind,
                f"status {step.status} within {_secs(budget)} "
                f"({format_duration(step.within)} at N={self.scale.factor:g})",
                observed,
            )
        )

    async def _query(self, step: Query) -> None:
        self._queries += 1
        # Unique across runs too, for an emulator shared with earlier runs.
        suffix = f"{random.getrandbits(32):08x}"
        query_id = f"{self.scenario.name}-{self.result.iteration}-{self._queries}-{suffix}"
        self.sent_ids.add(query_id)
        expect = step.expect
        before = len(self.tracker.durations)
        started = time.monotonic()
        transport: str | None = None
        error: str | None = None
        deadline = asyncio.timeout(self.lost_deadline)
        try:
            async with deadline:
                answer = await self.adapter.query(step.text, query_id=query_id)
        except TimeoutError as exc:
            if deadline.expired():
                outcome, error = LOST, f"no answer within {_secs(self.lost_deadline)}"
            else:  # the client gave up by itself, with a clear exception
                outcome, error = ERRORED, _describe(exc)
        except Exception as exc:
            outcome, error = ERRORED, _describe(exc)
        else:
            if answer.sent_id is not None:
                query_id = answer.sent_id
            self.sent_ids.add(query_id)
            outcome, error = classify_answer(query_id, answer.query_id, answer.transport)
            if outcome == ANSWERED:
                transport = answer.transport
        latency = time.monotonic() - started
        reconnects = len(self.tracker.durations) - before
        record = QueryRecord(
            step=step.label,
            query_id=query_id,
            outcome=outcome,
            transport=transport,
            latency=latency,
            reconnects=reconnects,
            expected=expect.transport,
            error=error,
        )
        self.result.records.append(record)
        self._check_query(step, record)

    def _check_query(self, step: Query, record: QueryRecord) -> None:
        expect = step.expect

        def fail(expected: str, observed: str) -> StepFailed:
            return StepFailed(Failure(step.label, step.kind, expected, observed))

        if record.outcome == ANSWERED:
            happened = f"answered over {record.transport} after {_secs(record.latency)}"
        elif record.outcome == ERRORED:
            happened = f"error after {_secs(record.latency)}: {record.error}"
        else:
            happened = f"lost: {record.error}"
        if expect.transport == "error":
            if record.outcome != ERRORED:
                raise fail("an error", happened)
        elif record.outcome != ANSWERED:
            wanted = f"an answer over {expect.transport}" if expect.transport else "an answer"
            raise fail(wanted, happened)
        elif expect.transport is not None and record.transport != expect.transport:
            raise fail(f"an answer over {expect.transport}", happened)
        if expect.within is not None:
            budget = self.scale.budget(expect.within)
            if record.latency > budget:
                raise fail(
                    f"an outcome within {_secs(budget)} "
                    f"({format_duration(expect.within)} at N={self.scale.factor:g})",
                    happened,
                )
        if expect.reconnects is not None and record.reconnects != expect.reconnects:
            raise fail(
                f"{expect.reconnects} reconnect(s) during the query",
                f"{record.reconnects} ({happened})",
            )
        if expect.max_reconnects is not None and record.reconnects > expect.max_reconnects:
            raise fail(
                f"at most {expect.max_reconnects} reconnect(s) during the query",
                f"{record.reconnects} ({happened})",
            )


def _secs(seconds: float) -> str:
    return format_duration(round(seconds, 3))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
