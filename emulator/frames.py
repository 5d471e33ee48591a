"""Close codes and the frame-size guard, without I/O.

API Gateway closes a connection with 1009 when a frame is over 32 KB or a message over 128 KB, and
with 1003 when the client sends a binary frame (spec §3, §4). aiohttp only checks the size of an
assembled message (and accepts unmasked client frames), so :class:`FrameScanner` reads the
RFC 6455 §5.2 frame headers of the client's byte stream itself (bytes in, a verdict out) before
aiohttp parses them. The limits are read on every frame, so a config patch applies to live
connections. The close reasons for 1003 and 1009 are a best guess (spec §9.4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "MAX_REASON_BYTES",
    "REASONS",
    "SENDABLE_CODES",
    "CloseCode",
    "FrameScanner",
    "Violation",
    "default_reason",
    "is_sendable",
]


class CloseCode(IntEnum):
    """WebSocket close codes the gateway sends or reports (RFC 6455 §7.4.1)."""

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RECEIVED = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_PAYLOAD = 1007
    MESSAGE_TOO_BIG = 1009


#: Reason texts the gateway sends with its close codes.
REASONS: dict[int, str] = {
    CloseCode.NORMAL_CLOSURE: "Connection Closed Normally",
    CloseCode.GOING_AWAY: "Going away",
    CloseCode.UNSUPPORTED_DATA: "Binary frames are not supported",
    CloseCode.MESSAGE_TOO_BIG: "Message too big",
}

#: Close codes a server may send, as users read them (RFC 6455 §7.4.1): 1004-1006 and 1015 never
#: go on the wire, 1016-2999 are reserved for the protocol, 3000-4999 belong to applications.
SENDABLE_CODES = "1000-1003, 1007-1014, 3000-4999"
#: The longest close reason in UTF-8 bytes: a close frame's payload is at most 125 bytes, two of
#: them the code (RFC 6455 §5.5).
MAX_REASON_BYTES = 123


def is_sendable(code: object) -> bool:
    """True when ``code`` is an int a server may send in a close frame (:data:`SENDABLE_CODES`)."""
    if isinstance(code, bool) or not isinstance(code, int):
        return False
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def default_reason(code: int) -> str:
    """The reason the gateway sends with ``code`` when none is given: its own text for the codes
    it uses (:data:`REASONS`), else empty."""
    return REASONS.get(code, "")


_OP_CONTINUATION = 0x0
_OP_TEXT = 0x1
_OP_BINARY = 0x2


@dataclass(frozen=True)
class Violation:
    """A frame the gateway refuses: close the connection with ``code`` and ``reason``."""

    code: CloseCode
    reason: str


class FrameScanner:
    """Reads frame headers from a client's byte stream and spots frames the gateway refuses.

    Args:
        limits: returns ``(frame_bytes, message_bytes)``, the largest payload of one data frame
            and of one (possibly fragmented) message, in bytes; called for every data frame.
    """

    __slots__ = ("_header", "_limits", "_message_bytes", "_skip")

    def __init__(self, limits: Callable[[], tuple[int, int]]) -> None:
        self._limits = limits
        self._header = bytearray()  # the start of a header split across reads
        self._skip = 0  # payload bytes of the current frame still to come
        self._message_bytes = 0  # payload bytes of the current data message so far

    def feed(self, data: bytes) -> tuple[bytes, Violation | None]:
        """Scan the next bytes of the stream.

        Returns:
            ``(passable, None)`` when every frame so far is acceptable, or ``(passable,
            violation)`` when a frame is refused: ``passable`` is what may be handed on to the
            frame parser (everything before the refused frame's header), and nothing after it
            may be parsed. A header split across reads is held back until it is complete.
        """
        if self._header:
            data = bytes(self._header) + data
            self._header.clear()
        size = len(data)
        pos = 0
        while pos < size:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                continue
            need = _header_length(data, pos)
            if need is None or size - pos < need:
                self._header += data[pos:]
                return data[:pos], None
            violation = self._check(data, pos)
            if violation is not None:
                return data[:pos], violation
            pos += need
        return data, None

    def _check(self, data: bytes, pos: int) -> Violation | None:
        """Judge the complete header at ``data[pos:]`` and skip its payload."""
        fin = data[pos] & 0x80
        opcode = data[pos] & 0x0F
        short = data[pos + 1] & 0x7F
        if short == 126:
            payload = int.from_bytes(data[pos + 2 : pos + 4], "big")
        elif short == 127:
            payload = int.from_bytes(data[pos + 2 : pos + 10], "big")
        else:
            payload = short
        self._skip = payload
        if not data[pos + 1] & 0x80:
            # RFC 6455 §5.1: a server must close the connection on an unmasked client frame.
            return Violation(CloseCode.PROTOCOL_ERROR, "Unmasked client frame")
        if opcode == _OP_BINARY:
            return Violation(CloseCode.UNSUPPORTED_DATA, REASONS[CloseCode.UNSUPPORTED_DATA])
        if opcode not in (_OP_TEXT, _OP_CONTINUATION):
            return None  # control frames: aiohttp enforces their 125-byte limit
        frame_limit, message_limit = self._limits()
        if opcode == _OP_TEXT:
            self._message_bytes = 0
        self._message_bytes += payload
        if payload > frame_limit or self._message_bytes > message_limit:
            return Violation(CloseCode.MESSAGE_TOO_BIG, REASONS[CloseCode.MESSAGE_TOO_BIG])
        if fin:
            self._message_bytes = 0
        return None


def _header_length(data: bytes, pos: int) -> int | None:
    """Length of the frame header at ``data[pos:]``, or None if its second byte is not there."""
    if pos + 1 >= len(data):
        return None
    second = data[pos + 1]
    length = 2 + (4 if second & 0x80 else 0)
    short = second & 0x7F
    if short == 126:
        length += 2
    elif short == 127:
        length += 8
    return length
