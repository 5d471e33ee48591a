"""The frame scanner (RFC 6455 §5.2 headers against API Gateway's limits), fed bytes only."""

from __future__ import annotations

import os

import pytest

from emulator.frames import CloseCode, FrameScanner

LIMITS = (32768, 131072)


def frame(payload_len: int, *, opcode: int = 0x1, fin: bool = True, masked: bool = True) -> bytes:
    """A client frame with a zero payload of ``payload_len`` bytes."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if masked else 0
    if payload_len < 126:
        header = bytes([first, mask_bit | payload_len])
    elif payload_len < 65536:
        header = bytes([first, mask_bit | 126]) + payload_len.to_bytes(2, "big")
    else:
        header = bytes([first, mask_bit | 127]) + payload_len.to_bytes(8, "big")
    return header + (os.urandom(4) if masked else b"") + bytes(payload_len)


def scan(data: bytes, chunk: int | None = None) -> tuple[int, object]:
    scanner = FrameScanner(lambda: LIMITS)
    passed = 0
    step = chunk or len(data) or 1
    for start in range(0, len(data), step):
        passable, violation = scanner.feed(data[start : start + step])
        passed += len(passable)
        if violation is not None:
            return passed, violation
    return passed, None


@pytest.mark.parametrize("chunk", [None, 1, 3, 7, 1000])
def test_acceptable_frames_pass_whatever_the_chunking(chunk: int | None) -> None:
    stream = frame(5) + frame(200) + frame(32768) + frame(0, opcode=0x9) + frame(70000 - 65536)
    assert scan(stream, chunk) == (len(stream), None)


@pytest.mark.parametrize("chunk", [None, 1, 5])
def test_frame_over_32k_is_refused_before_its_header(chunk: int | None) -> None:
    ok = frame(10)
    passed, violation = scan(ok + frame(32769), chunk)
    assert violation.code == CloseCode.MESSAGE_TOO_BIG  # type: ignore[attr-defined]
    assert passed == len(ok)  # not one byte of the refused frame reaches the parser


def test_64bit_length_frame_is_refused() -> None:
    _, violation = scan(frame(0x10000 + 32768))
    assert violation.code == CloseCode.MESSAGE_TOO_BIG  # type: ignore[attr-defined]


def test_fragmented_message_up_to_128k_passes_and_one_byte_more_is_refused() -> None:
    fragments = frame(32768, fin=False) + b"".join(
        frame(32768, opcode=0x0, fin=False) for _ in range(2)
    )
    ok = fragments + frame(32768, opcode=0x0, fin=True)
    assert scan(ok) == (len(ok), None)
    too_big = fragments + frame(32768, opcode=0x0, fin=False) + frame(1, opcode=0x0)
    passed, violation = scan(too_big)
    assert violation.code == CloseCode.MESSAGE_TOO_BIG  # type: ignore[attr-defined]
    assert passed == len(fragments) + len(frame(32768))


def test_control_frames_between_fragments_do_not_count() -> None:
    stream = frame(32768, fin=False) + frame(4, opcode=0x9) + frame(32768, opcode=0x0)
    assert scan(stream) == (len(stream), None)


def test_message_count_restarts_after_the_final_fragment() -> None:
    one = frame(32768, fin=False) + b"".join(
        frame(32768, opcode=0x0, fin=(i == 2)) for i in range(3)
    )
    assert scan(one + one) == (len(one + one), None)


def test_binary_frame_is_unsupported_data() -> None:
    passed, violation = scan(frame(3) + frame(3, opcode=0x2))
    assert violation.code == CloseCode.UNSUPPORTED_DATA  # type: ignore[attr-defined]
    assert passed == len(frame(3))


def test_unmasked_client_frame_is_a_protocol_error() -> None:
    passed, violation = scan(frame(3) + frame(3, masked=False))
    assert violation.code == CloseCode.PROTOCOL_ERROR  # type: ignore[attr-defined]
    assert passed == len(frame(3))


def test_limits_are_read_live() -> None:
    limits = [32768, 131072]
    scanner = FrameScanner(lambda: (limits[0], limits[1]))
    assert scanner.feed(frame(1000))[1] is None
    limits[0] = 999  # a config patch on a live connection
    assert scanner.feed(frame(1000))[1] is not None
