"""The gateway's Prometheus metrics (design §10), on a registry passed in.

One :class:`GatewayMetrics` per registry: emulators sharing a registry (a runner's, across
scenarios) share the collectors, so their counts add up instead of failing as duplicates.
"""

from __future__ import annotations

import threading
import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["DISCONNECT_REASONS", "NO_ROUTE", "GatewayMetrics"]

#: Values of the ``reason`` label of ``wschaos_gateway_disconnects_total``.
DISCONNECT_REASONS = ("client", "idle_timeout", "max_duration", "deleted", "fault", "error")

#: The ``route`` label of a message that matched no route (the Forbidden frame).
NO_ROUTE = "$none"

_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, GatewayMetrics] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


class GatewayMetrics:
    """The gateway's collectors.

    Attributes:
        connections: open connections (gauge).
        connects: handshakes by the HTTP ``status`` answered (``101`` for accepted).
        disconnects: closed connections by ``reason`` (:data:`DISCONNECT_REASONS`).
        messages: client messages by selected ``route`` (:data:`NO_ROUTE` when none matched).
        management: @connections requests by ``method`` and ``status``.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.connections = Gauge(
            "wschaos_gateway_connections", "Open WebSocket connections.", registry=registry
        )
        self.connects = Counter(
            "wschaos_gateway_connects",
            "WebSocket handshakes by the HTTP status answered (101 = connected).",
            ["status"],
            registry=registry,
        )
        self.disconnects = Counter(
            "wschaos_gateway_disconnects",
            "Closed WebSocket connections by reason.",
            ["reason"],
            registry=registry,
        )
        self.messages = Counter(
            "wschaos_gateway_messages",
            "Client messages by the route selected.",
            ["route"],
            registry=registry,
        )
        self.management = Counter(
            "wschaos_gateway_management_requests",
            "@connections API requests by method and status.",
            ["method", "status"],
            registry=registry,
        )

    @classmethod
    def for_registry(cls, registry: CollectorRegistry) -> GatewayMetrics:
        """The metrics on ``registry``, created on first use."""
        with _lock:
            metrics = _by_registry.get(registry)
            if metrics is None:
                metrics = _by_registry[registry] = cls(registry)
            return metrics
