"""Message shapes, frame parsing and fragmentation: pure, no sockets."""

from __future__ import annotations

import json

import pytest

from client.protocol import (
    FRAME_LIMIT,
    MESSAGE_LIMIT,
    GatewayError,
    Pong,
    Progress,
    QueryError,
    Result,
    Unknown,
    fragments,
    parse_frame,
    ping_message,
    query_message,
    rest_body,
)


def test_outgoing_shapes_follow_the_sample_api():
    assert json.loads(query_message("q1", "EC2 spend")) == {
        "action": "finops_query",
        "query_id": "q1",
        "query": "EC2 spend",
    }
    assert json.loads(ping_message(1700000000123)) == {"action": "ping", "timestamp": 1700000000123}
    assert rest_body("q1", "EC2 spend") == {"query_id": "q1", "query": "EC2 spend"}
    assert FRAME_LIMIT == 32768 and MESSAGE_LIMIT == 131072


@pytest.mark.parametrize(
    ("raw", "frame"),
    [
        ('{"type":"progress","query_id":"q","message":"working"}', Progress("q", "working")),
        ('{"type":"result","query_id":"q","answer":{"total":3}}', Result("q", {"total": 3})),
        ('{"type":"error","query_id":"q","message":"bad query"}', QueryError("q", "bad query")),
        ('{"action":"pong","timestamp":17}', Pong(17)),
        (
            '{"message": "Forbidden", "connectionId":"ABAudfcuCGYAd1A=", '
            '"requestId":"ABCO7H6MCGYFxCA="}',
            GatewayError("Forbidden", "ABAudfcuCGYAd1A=", "ABCO7H6MCGYFxCA="),
        ),
        (
            '{"message": "Internal server error", "connectionId":"Qyi07eCbtjMCJKw=", '
            '"requestId":"Qyi3UG41tjMFlUg="}',
            GatewayError("Internal server error", "Qyi07eCbtjMCJKw=", "Qyi3UG41tjMFlUg="),
        ),
        (b'{"action":"pong","timestamp":5}', Pong(5)),
    ],
)
def test_known_frames(raw, frame):
    assert parse_frame(raw) == frame


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("hello", "not JSON"),
        ("{", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("42", "not a JSON object"),
        ('{"type":"result","answer":{}}', "without a string query_id"),
        ('{"type":"result","query_id":"q","answer":"text"}', "without an answer object"),
        ('{"type":"progress","query_id":7}', "without a string query_id"),
        ('{"action":"pong","timestamp":"soon"}', "pong without an integer timestamp"),
        ('{"action":"pong","timestamp":true}', "pong without an integer timestamp"),
        ('{"type":"surprise"}', "unknown message shape"),
        ("{}", "unknown message shape"),
        (b"\xff\xfe", "binary frame that is not UTF-8"),
    ],
)
def test_malformed_or_unexpected_frames_come_back_unknown(raw, why):
    frame = parse_frame(raw)
    assert isinstance(frame, Unknown)
    assert why in frame.why


def test_short_text_is_one_fragment():
    assert fragments("x" * FRAME_LIMIT) == ["x" * FRAME_LIMIT]


@pytest.mark.parametrize("char", ["a", "é", "€", "𝄞"])  # 1, 2, 3 and 4 UTF-8 bytes
def test_fragments_stay_within_the_frame_limit_on_character_boundaries(char):
    text = "{" + char * 50000 + "}"
    pieces = fragments(text)
    assert "".join(pieces) == text
    assert len(pieces) >= 2
    assert all(0 < len(piece.encode("utf-8")) <= FRAME_LIMIT for piece in pieces)
    # Every piece but the last is filled up to the limit, less at most one partial character.
    assert all(len(piece.encode("utf-8")) > FRAME_LIMIT - 4 for piece in pieces[:-1])


def test_fragment_limit_must_hold_a_character():
    with pytest.raises(ValueError):
        fragments("abc", limit=3)
