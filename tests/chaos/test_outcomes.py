"""Measurement without I/O: reconnect timing from status events, query outcomes, figures."""

from __future__ import annotations

import pytest

from chaos.outcomes import (
    ANSWERED,
    ERRORED,
    LOST,
    Figures,
    QueryRecord,
    ReconnectTracker,
    classify_answer,
    count_duplicates,
    percentile,
)


def feed(tracker: ReconnectTracker, *timeline: tuple[float, str]) -> list[float | None]:
    return [tracker.observe(state, at) for at, state in timeline]


def test_first_connection_is_not_a_reconnect() -> None:
    tracker = ReconnectTracker()
    feed(tracker, (0.0, "disconnected"), (1.0, "connecting"), (1.2, "connected"))
    assert tracker.durations == [] and tracker.failed == 0


def test_unclean_loss_is_timed_from_the_loss_to_connected() -> None:
    tracker = ReconnectTracker()
    feed(tracker, (0.0, "connecting"), (0.1, "connected"))
    # 5.0 s: socket lost, reconnecting at once; attempts 2 and 3 are the same episode
    done = feed(
        tracker,
        (5.0, "reconnecting"),
        (5.2, "reconnecting"),
        (5.7, "reconnecting"),
        (5.75, "connected"),
    )
    assert done[-1] == pytest.approx(0.75)
    assert tracker.durations == [pytest.approx(0.75)]


def test_clean_close_is_timed_from_when_a_query_finds_it_gone() -> None:
    tracker = ReconnectTracker()
    feed(tracker, (0.0, "connecting"), (0.1, "connected"))
    # 1001 at 10 s; the client idles DISCONNECTED until a query at 60 s
    feed(tracker, (10.0, "disconnected"), (60.0, "connecting"), (60.03, "connected"))
    assert tracker.durations == [pytest.approx(0.03)]


def test_an_episode_ending_failed_is_a_failed_reconnect_and_the_next_try_starts_anew() -> None:
    tracker = ReconnectTracker()
    feed(tracker, (0.0, "connecting"), (0.1, "connected"))
    feed(tracker, (1.0, "reconnecting"), (1.5, "failed"))
    assert tracker.failed == 1 and not tracker.in_progress
    # a query during the cut: another failed episode
    feed(tracker, (3.0, "connecting"), (3.1, "reconnecting"), (3.3, "failed"))
    # after the restore
    feed(tracker, (9.0, "connecting"), (9.02, "connected"))
    assert tracker.failed == 2
    assert tracker.durations == [pytest.approx(0.02)]


def test_manual_reconnect_and_forget_after_close() -> None:
    tracker = ReconnectTracker()
    feed(tracker, (0.0, "connecting"), (0.1, "connected"), (1.0, "connecting"), (1.05, "connected"))
    assert tracker.durations == [pytest.approx(0.05)]
    # the scenario closes the client: the next connection is a first one
    feed(tracker, (2.0, "disconnected"))
    tracker.forget()
    feed(tracker, (3.0, "connecting"), (3.1, "connected"))
    assert len(tracker.durations) == 1


def test_repeated_states_are_ignored() -> None:
    tracker = ReconnectTracker()
    feed(tracker, (0.0, "connected"), (0.5, "connected"), (1.0, "reconnecting"))
    assert feed(tracker, (1.5, "connected"), (2.0, "connected")) == [pytest.approx(0.5), None]


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([3.0], 99, 3.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),
        ([4.0, 1.0, 3.0, 2.0], 75, 3.0),
        ([4.0, 1.0, 3.0, 2.0], 95, 4.0),
        (list(range(1, 101)), 95, 95),
        (list(range(1, 101)), 99, 99),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], p: float, expected: float | None) -> None:
    assert percentile(values, p) == expected


def test_classify_answer() -> None:
    assert classify_answer("q1", "q1", "websocket") == (ANSWERED, None)
    assert classify_answer("q1", "q1", "rest") == (ANSWERED, None)
    assert classify_answer("q1", "q2", "websocket") == (LOST, "answer for another query_id 'q2'")
    assert classify_answer("q1", "q1", "smoke") == (
        ERRORED,
        "answer over an unknown transport 'smoke'",
    )


def test_count_duplicates_counts_executions_beyond_one_per_query() -> None:
    ledger = {"a": 1, "b": 3, "c": 2}
    assert count_duplicates(ledger) == 3
    assert count_duplicates({}) == 0
    # Given the ids sent, executions under any other id are retries under a fresh id.
    assert count_duplicates(ledger, {"a", "b", "c", "never-executed"}) == 3
    assert count_duplicates({"a": 1, "retry-of-a": 1}, {"a"}) == 1
    assert count_duplicates({"a": 2, "x": 2}, {"a"}) == 3


def record(outcome: str, transport: str | None = None, expected: str | None = None) -> QueryRecord:
    return QueryRecord("1", "q", outcome, transport, 0.1, 0, expected=expected)


def test_figures_from_records_leave_expected_errors_out_of_the_rates() -> None:
    records = [
        record(ANSWERED, "websocket"),
        record(ANSWERED, "websocket"),
        record(ANSWERED, "rest"),
        record(ERRORED),
        record(LOST),
        record(ERRORED, expected="error"),  # asked for: not counted
    ]
    figures = Figures.from_records(
        records, duplicated=1, reconnect_times=[0.2], failed_reconnects=2
    )
    assert (figures.queries, figures.answered, figures.errored, figures.lost) == (5, 3, 1, 1)
    assert figures.by_transport == {"websocket": 2, "rest": 1}
    assert figures.success_rate == pytest.approx(0.6)
    assert figures.fallback_rate == pytest.approx(1 / 3)
    assert figures.value("duplicated_queries") == 1.0
    assert figures.value("reconnects") == 1.0
    json = figures.to_json()
    assert json["reconnects"] == 1 and json["failed_reconnects"] == 2
    assert json["reconnect_p50"] == 0.2


def test_pooled_figures_sum_counts_and_concatenate_reconnects() -> None:
    one = Figures.from_records([record(ANSWERED, "rest")], reconnect_times=[0.1])
    two = Figures.from_records([record(LOST)], duplicated=2, reconnect_times=[0.3, 0.2])
    pooled = Figures.pool([one, two])
    assert (pooled.queries, pooled.answered, pooled.lost, pooled.duplicated) == (2, 1, 1, 2)
    assert pooled.by_transport == {"websocket": 0, "rest": 1}
    assert pooled.reconnect_percentile(50) == 0.2
    assert Figures().success_rate is None and Figures().fallback_rate is None
