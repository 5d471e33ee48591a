"""Backoff, failure classification, the exception tree and option validation: pure, no sockets."""

from __future__ import annotations

import math
import random

import pytest
from prometheus_client import CollectorRegistry
from websockets.datastructures import Headers
from websockets.exceptions import InvalidMessage, InvalidStatus
from websockets.http11 import Response

from client import (
    ClientError,
    InvalidOptions,
    QueryFailed,
    QueryTooLarge,
    ResilientWebSocketClient,
)
from client.backoff import FullJitterBackoff
from client.errors import ConnectFailure, FailureKind, Verdict, classify, describe_failure
from client.options import ClientOptions

# Backoff -----------------------------------------------------------------------------------------


def test_full_jitter_windows_double_up_to_the_cap():
    backoff = FullJitterBackoff(1.0, 10.0, random.Random(1))
    assert [backoff.window(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert backoff.window(1000) == 10.0  # no overflow for absurd attempt counts


def test_full_jitter_delays_cover_the_whole_window_and_follow_the_rng():
    delays = [FullJitterBackoff(1.0, 10.0, random.Random(42)).delay(3) for _ in range(3)]
    assert len(set(delays)) == 1  # the same seed, the same delay
    backoff = FullJitterBackoff(1.0, 10.0, random.Random(3))
    samples = [backoff.delay(3) for _ in range(2000)]
    assert min(samples) >= 0.0 and max(samples) <= 4.0
    assert min(samples) < 0.1 and max(samples) > 3.9  # full jitter: down to zero, up to the window


def test_throttled_backoff_is_longer_and_never_near_zero():
    backoff = FullJitterBackoff(1.0, 100.0, random.Random(5))
    samples = [backoff.delay(1, longer=True) for _ in range(2000)]
    assert (
        min(samples) >= 2.0 and max(samples) <= 4.0
    )  # window 4 s (two more doublings), upper half
    capped = FullJitterBackoff(1.0, 3.0, random.Random(5))
    assert all(1.5 <= capped.delay(1, longer=True) <= 3.0 for _ in range(200))


def test_backoff_rejects_attempt_zero():
    with pytest.raises(ValueError, match="attempt"):
        FullJitterBackoff(1.0, 10.0).delay(0)


# Classification ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "verdict"),
    [
        (ConnectFailure(FailureKind.REJECTED, status=401), Verdict.GIVE_UP),
        (ConnectFailure(FailureKind.REJECTED, status=403), Verdict.GIVE_UP),
        (ConnectFailure(FailureKind.REJECTED, status=429), Verdict.BACK_OFF_LONGER),
        (ConnectFailure(FailureKind.REJECTED, status=500), Verdict.RETRY),
        (ConnectFailure(FailureKind.REJECTED, status=502), Verdict.RETRY),
        (ConnectFailure(FailureKind.REJECTED, status=503), Verdict.RETRY),
        (ConnectFailure(FailureKind.REFUSED), Verdict.RETRY),
        (ConnectFailure(FailureKind.TIMEOUT), Verdict.RETRY),
    ],
)
def test_classify(failure, verdict):
    assert classify(failure) is verdict


def test_describe_failure_maps_what_websockets_raises():
    response = Response(429, "Too Many Requests", Headers(), b"")
    rejected = describe_failure(InvalidStatus(response))
    assert (rejected.kind, rejected.status) == (FailureKind.REJECTED, 429)
    assert str(rejected) == "handshake rejected with HTTP 429"
    assert describe_failure(TimeoutError()).kind is FailureKind.TIMEOUT
    refused = describe_failure(ConnectionRefusedError(111, "Connect call failed"))
    assert refused.kind is FailureKind.REFUSED and "Connect call failed" in str(refused)
    assert describe_failure(InvalidMessage("no HTTP response")).kind is FailureKind.REFUSED


# Exceptions --------------------------------------------------------------------------------------


def test_query_failed_names_both_transports():
    exc = QueryFailed("q1", websocket_error="connection refused", rest_error="HTTP 502: boom")
    assert str(exc) == "query q1 failed: websocket: connection refused; rest: HTTP 502: boom"
    assert isinstance(exc, ClientError)
    assert "rest: not tried" in str(QueryFailed("q2", websocket_error="x", rest_error=None))


def test_query_too_large_is_a_query_failed():
    exc = QueryTooLarge("q", 140000, 131072)
    assert isinstance(exc, QueryFailed)
    assert "140000 bytes" in str(exc) and "131072" in str(exc)


# Options -----------------------------------------------------------------------------------------

URL = "ws://127.0.0.1:3001/prod"


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"url": "http://127.0.0.1/prod"}, "url"),
        ({"url": "ws://"}, "url"),
        ({"url": "ws://host:port/x"}, "url"),
        ({"url": 42}, "url"),
        ({"rest_url": "ftp://x/prod"}, "rest_url"),
        ({"rest_url": "http:///prod"}, "rest_url"),
        ({"rest_url": "http://h:99999999/prod"}, "rest_url"),
        ({"heartbeat_interval": 0}, "heartbeat_interval"),
        ({"heartbeat_interval": "30s"}, "heartbeat_interval"),
        ({"pong_timeout": -1}, "pong_timeout"),
        ({"max_reconnect_attempts": 0}, "max_reconnect_attempts"),
        ({"max_reconnect_attempts": 2.5}, "max_reconnect_attempts"),
        ({"max_reconnect_attempts": True}, "max_reconnect_attempts"),
        ({"backoff_base": -0.1}, "backoff_base"),
        ({"backoff_max": math.inf}, "backoff_max"),
        ({"query_timeout": 0}, "query_timeout"),
        ({"fallback_after": math.nan}, "fallback_after"),
        ({"open_timeout": None}, "open_timeout"),
        ({"time_scale": 0}, "time_scale"),
        ({"rng": 7}, "rng"),
        ({"registry": "default"}, "registry"),
    ],
)
def test_invalid_options_are_refused_at_construction(kwargs, option):
    url = kwargs.pop("url", URL)
    with pytest.raises(InvalidOptions) as info:
        ResilientWebSocketClient(url, **kwargs)
    assert info.value.option == option
    assert str(info.value).startswith(f"{option}: ")
    assert isinstance(info.value, ValueError)


def test_valid_options_and_their_real_time_values():
    options = ClientOptions(
        "wss://example.test/prod",
        rest_url="https://example.test/prod",
        heartbeat_interval=30.0,
        pong_timeout=10.0,
        query_timeout=30.0,
        fallback_after=5.0,
        open_timeout=10.0,
        time_scale=600,
        registry=CollectorRegistry(),
    )
    assert options.heartbeat_seconds == pytest.approx(0.05)  # a duration: scaled
    assert options.pong_budget == 0.25  # budgets: scaled, floored at 250 ms
    assert options.query_budget == 0.25
    assert options.fallback_budget == 0.25
    assert options.open_budget == 0.25
    unscaled = ClientOptions(URL, heartbeat_interval=None, pong_timeout=None, fallback_after=0)
    assert unscaled.heartbeat_seconds is None and unscaled.pong_budget is None
    assert unscaled.query_budget == 30.0
    assert unscaled.fallback_budget == 0.0  # 0 = straight to REST when not connected


def test_a_fresh_client_is_disconnected_with_metrics_on_the_given_registry():
    registry = CollectorRegistry()
    client = ResilientWebSocketClient(URL, registry=registry)
    assert client.status.name == "DISCONNECTED"
    assert client.status_text == "WebSocket: Disconnected - Will auto-reconnect on next query"
    assert registry.get_sample_value("wschaos_client_state", {"state": "disconnected"}) == 1
    assert registry.get_sample_value("wschaos_client_state", {"state": "connected"}) == 0
    labels = {"transport": "rest", "outcome": "answered"}
    assert registry.get_sample_value("wschaos_client_queries_total", labels) == 0
    # Two clients can live in one process, each on its own registry.
    ResilientWebSocketClient(URL, registry=CollectorRegistry())
    ResilientWebSocketClient(URL)
