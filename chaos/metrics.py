"""Run metrics (design §10) on an explicit registry, and the three ways to export a registry.

Metrics (prefix ``wschaos_scenario_``), updated once per finished scenario run:

- ``wschaos_scenario_runs_total{scenario,outcome=passed|failed}`` counter;
- ``wschaos_scenario_duration_seconds{scenario}`` gauge: real seconds of the latest run;
- ``wschaos_scenario_reconnect_seconds{scenario}`` histogram of reconnect times (real seconds);
- ``wschaos_scenario_queries_total{scenario,transport,outcome}`` counter, ``transport`` one of
  ``websocket rest`` and ``outcome`` one of ``answered errored lost``. An answered query carries
  the transport that answered it; an unanswered one carries ``websocket``, the transport every
  query is first sent on.
- ``wschaos_scenario_duplicated_queries_total{scenario}`` counter: back-end executions beyond one
  per query (design §9's ``duplicated_queries``). Not in design §10, which has no series for
  duplicates; without it a dashboard could not show them.

Exports: :func:`write_metrics_file` (Prometheus text format, written atomically),
:class:`MetricsExporter` (an HTTP ``/metrics`` endpoint on a port, in a thread) and
:func:`push_metrics` (a Pushgateway push, replacing the job's group).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import push_to_gateway, start_http_server, write_to_textfile

from chaos.errors import UserError
from chaos.outcomes import ANSWERED, ERRORED, LOST, TRANSPORTS

# The runner times the same reconnects the client reports, so both histograms share buckets.
from client.metrics import RECONNECT_BUCKETS

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from chaos.outcomes import ScenarioResult

__all__ = [
    "RECONNECT_BUCKETS",
    "MetricsExporter",
    "RunMetrics",
    "push_metrics",
    "write_metrics_file",
]

#: Pushgateway job name.
PUSH_JOB = "wschaos"


class RunMetrics:
    """The run metrics, registered on ``registry``.

    Args:
        registry: where to register; several runs may live in one process on separate registries.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.runs = Counter(
            "wschaos_scenario_runs",
            "Scenario runs by outcome.",
            ["scenario", "outcome"],
            registry=registry,
        )
        self.duration = Gauge(
            "wschaos_scenario_duration_seconds",
            "Real duration of the latest run of the scenario, in seconds.",
            ["scenario"],
            registry=registry,
        )
        self.reconnect = Histogram(
            "wschaos_scenario_reconnect_seconds",
            "Reconnect times observed by the runner, real seconds.",
            ["scenario"],
            buckets=RECONNECT_BUCKETS,
            registry=registry,
        )
        self.queries = Counter(
            "wschaos_scenario_queries",
            "Queries by the transport that answered them and their outcome.",
            ["scenario", "transport", "outcome"],
            registry=registry,
        )
        self.duplicated = Counter(
            "wschaos_scenario_duplicated_queries",
            "Back-end executions beyond one per query, from the back end's query ledger.",
            ["scenario"],
            registry=registry,
        )

    def record(self, result: ScenarioResult) -> None:
        """Count one finished scenario run (queries expected to error are not counted)."""
        name = result.name
        # Both outcome series exist from the first run, so rate() and increase() see a 0 first.
        for outcome in ("passed", "failed"):
            self.runs.labels(scenario=name, outcome=outcome)
        self.runs.labels(scenario=name, outcome=result.outcome).inc()
        self.duration.labels(scenario=name).set(result.duration)
        self.duplicated.labels(scenario=name).inc(result.figures.duplicated)
        histogram = self.reconnect.labels(scenario=name)
        for seconds in result.figures.reconnect_times:
            histogram.observe(seconds)
        for transport in TRANSPORTS:
            for outcome in (ANSWERED, ERRORED, LOST):
                self.queries.labels(scenario=name, transport=transport, outcome=outcome)
        for record in result.records:
            if not record.counted:
                continue
            answered_over = record.transport if record.outcome == ANSWERED else None
            self.queries.labels(
                scenario=name, transport=answered_over or "websocket", outcome=record.outcome
            ).inc()


def write_metrics_file(path: str | Path, registry: CollectorRegistry) -> None:
    """Write ``registry`` in the Prometheus text format (atomically, parents created).

    Raises:
        UserError: the file cannot be written.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(target), registry)
    except OSError as exc:
        raise UserError(f"--metrics-file: {str(path)!r}: cannot write: {exc.strerror}") from exc


class MetricsExporter:
    """Serves ``registry`` at ``http://HOST:PORT/metrics`` from a daemon thread.

    Args:
        registry: what to serve.
        port: TCP port; 0 picks a free one (see :attr:`port`).
        host: address to bind; ``0.0.0.0`` so a Prometheus in another container can scrape.
    """

    def __init__(self, registry: CollectorRegistry, port: int, host: str = "0.0.0.0") -> None:
        self._registry = registry
        self._requested = port
        self.host = host
        self._server: WSGIServer | None = None

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the exporter is not started")
        return int(self._server.server_port)

    def start(self) -> MetricsExporter:
        """Bind and serve.

        Raises:
            UserError: the port cannot be bound.
        """
        try:
            self._server, _thread = start_http_server(
                self._requested, addr=self.host, registry=self._registry
            )
        except OSError as exc:
            raise UserError(
                f"--metrics-port: {self._requested}: cannot listen on {self.host}: {exc.strerror}"
            ) from exc
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> MetricsExporter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def push_metrics(url: str, registry: CollectorRegistry, *, timeout: float = 10.0) -> None:
    """Push ``registry`` to the Pushgateway at ``url`` under job ``wschaos`` (PUT: replaces it).

    Raises:
        UserError: the Pushgateway cannot be reached or refuses the push.
    """
    try:
        push_to_gateway(url, job=PUSH_JOB, registry=registry, timeout=timeout)
    except OSError as exc:  # urllib's URLError and HTTPError are OSErrors
        raise UserError(f"--pushgateway: {url!r}: push failed: {exc}") from exc
