"""One run registry pooling the metrics of each scenario's fresh client registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from chaos.pooling import PooledCollector


def client_registry(queries: int, state: str, reconnect: float) -> CollectorRegistry:
    registry = CollectorRegistry()
    counter = Counter("demo_queries", "q", ["transport"], registry=registry)
    counter.labels(transport="websocket").inc(queries)
    gauge = Gauge("demo_state", "s", ["state"], registry=registry)
    gauge.labels(state=state).set(1)
    Histogram("demo_reconnect_seconds", "r", buckets=(0.1, 1.0), registry=registry).observe(
        reconnect
    )
    return registry


def scrape(registry: CollectorRegistry) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, number = line.rsplit(" ", 1)
            out[name] = float(number)
    return out


def test_counters_and_histograms_sum_over_every_client_gauges_show_the_latest() -> None:
    run = CollectorRegistry()
    pool = PooledCollector()
    run.register(pool)
    assert scrape(run) == {}

    pool.attach(client_registry(2, "connected", 0.05))
    assert scrape(run)['demo_queries_total{transport="websocket"}'] == 2

    pool.attach(client_registry(3, "failed", 0.5))  # retires the first
    seen = scrape(run)
    assert seen['demo_queries_total{transport="websocket"}'] == 5
    assert seen['demo_reconnect_seconds_bucket{le="0.1"}'] == 1
    assert seen['demo_reconnect_seconds_bucket{le="1.0"}'] == 2
    assert seen["demo_reconnect_seconds_count"] == 2
    assert seen['demo_state{state="failed"}'] == 1
    assert 'demo_state{state="connected"}' not in seen

    pool.retire()
    pool.retire()  # idempotent
    after = scrape(run)
    assert after['demo_queries_total{transport="websocket"}'] == 5
    assert after['demo_state{state="failed"}'] == 1
    assert not any(name.endswith("_created") for name in after)
