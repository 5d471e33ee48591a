"""One registry's view of a succession of registries: each scenario's client has its own.

A client registers fixed metric names, so two clients cannot share a registry, yet a run shows
one ``wschaos_client_*`` family on its ``/metrics``. :class:`PooledCollector` is registered on the
run's registry; the runner :meth:`~PooledCollector.attach`\\ es each scenario's client registry.
Counters and histograms are summed over every registry ever attached (retired ones are folded
into running totals, so a run of any length holds one copy); gauges show the current registry,
or the last one once it is retired.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = ["PooledCollector"]

_SUMMED = frozenset({"counter", "histogram", "summary"})
_Key = tuple[str, tuple[tuple[str, str], ...]]
#: A family as pooled: (documentation, type, {(sample name, labels): value}).
_Family = tuple[str, str, dict[_Key, float]]


class PooledCollector(Collector):
    """Exposes the pooled metrics of the registries attached to it, in turn."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: CollectorRegistry | None = None
        # family name -> its pooled samples
        self._totals: dict[str, _Family] = {}
        self._gauges: dict[str, _Family] = {}

    def attach(self, registry: CollectorRegistry) -> None:
        """Make ``registry`` the current one (the previous one is retired first)."""
        with self._lock:
            self._retire_locked()
            self._current = registry

    def retire(self) -> None:
        """Fold the current registry into the totals and forget it; idempotent."""
        with self._lock:
            self._retire_locked()

    def _retire_locked(self) -> None:
        if self._current is None:
            return
        families = list(self._current.collect())
        self._current = None
        self._gauges = {}
        for family in families:
            _fold(self._totals if family.type in _SUMMED else self._gauges, family)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            current = list(self._current.collect()) if self._current is not None else []
            totals = {name: (d, t, dict(s)) for name, (d, t, s) in self._totals.items()}
            gauges = {name: (d, t, dict(s)) for name, (d, t, s) in self._gauges.items()}
        merged = totals  # a copy: the current registry's samples are added to it
        if current:
            for family in current:
                _fold(merged, family)
        else:
            merged.update(gauges)
        for name, (doc, type_, samples) in merged.items():
            metric = Metric(name, doc, type_)
            for (sample_name, labels), value in samples.items():
                metric.add_sample(sample_name, dict(labels), value)
            yield metric


def _fold(into: dict[str, _Family], family: Metric) -> None:
    """Add ``family``'s samples to ``into``: summed for counters and histograms, replaced for
    gauges."""
    _doc, _type, samples = into.setdefault(family.name, (family.documentation, family.type, {}))
    summed = family.type in _SUMMED
    for key, value in _samples(family):
        samples[key] = samples.get(key, 0.0) + value if summed else value


def _samples(family: Metric) -> Iterable[tuple[_Key, float]]:
    for sample in family.samples:
        # `_created` is a per-registry timestamp: summing those would be meaningless.
        if sample.name.endswith("_created"):
            continue
        yield (sample.name, tuple(sorted(sample.labels.items()))), float(sample.value)
