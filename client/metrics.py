"""The client's Prometheus metrics (design §10), on a registry passed in.

Every label value is created up front, so a scrape shows zeros rather than missing series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from client.errors import FailureKind
from client.state import ConnectionState, ReconnectTrigger

__all__ = ["RECONNECT_BUCKETS", "ClientMetrics"]

#: Seconds; loopback reconnects take milliseconds, a backoff through a cut takes seconds.
RECONNECT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

_CONNECT_OUTCOMES = ("success", *(kind.value for kind in FailureKind))
_TRANSPORTS = ("websocket", "rest")
_QUERY_OUTCOMES = ("answered", "errored")


class ClientMetrics:
    """The ``wschaos_client_*`` metrics of one client.

    Args:
        registry: where the metrics are registered. Two clients need two registries (the names
            are fixed), which is what lets several clients live in one process.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.connect_attempts = Counter(
            "wschaos_client_connect_attempts",
            "Connection attempts by outcome.",
            ["outcome"],
            registry=registry,
        )
        self.reconnects = Counter(
            "wschaos_client_reconnects",
            "Reconnects begun, by what triggered them.",
            ["trigger"],
            registry=registry,
        )
        self.reconnect_seconds = Histogram(
            "wschaos_client_reconnect_seconds",
            "Real seconds from losing the connection (or a query finding it gone) to connected.",
            buckets=RECONNECT_BUCKETS,
            registry=registry,
        )
        self.queries = Counter(
            "wschaos_client_queries",
            "Queries by the transport that ended them and their outcome.",
            ["transport", "outcome"],
            registry=registry,
        )
        self.state = Gauge(
            "wschaos_client_state",
            "1 for the client's current connection state, 0 for the others.",
            ["state"],
            registry=registry,
        )
        for outcome in _CONNECT_OUTCOMES:
            self.connect_attempts.labels(outcome=outcome)
        for trigger in ReconnectTrigger:
            self.reconnects.labels(trigger=trigger.value)
        for transport in _TRANSPORTS:
            for result in _QUERY_OUTCOMES:
                self.queries.labels(transport=transport, outcome=result)
        self.set_state(ConnectionState.DISCONNECTED)

    def set_state(self, current: ConnectionState) -> None:
        """Make ``current`` the one state whose gauge is 1."""
        for state in ConnectionState:
            self.state.labels(state=state.label).set(1 if state is current else 0)

    def query(self, transport: str, outcome: str) -> None:
        """Count one finished query."""
        self.queries.labels(transport=transport, outcome=outcome).inc()
