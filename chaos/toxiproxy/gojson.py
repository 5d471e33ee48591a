"""Go ``encoding/json`` behaviour, as Toxiproxy's API shows it on the wire.

Toxiproxy decodes request bodies with ``json.NewDecoder(body).Decode(&v)`` and encodes responses
with ``json.Marshal``; clients see Go's quirks, so they are reproduced here, without I/O:

- :func:`scan` reads the first JSON value of a body (trailing bytes ignored) and fails with Go's
  exact messages (``EOF``, ``unexpected EOF``, ``invalid character 'b' looking for beginning of
  object key string``).
- :func:`decode_struct` stores a scanned value into a :class:`GoStruct` schema like Go's reflection
  decoder: keys matched case-insensitively, unknown keys ignored, ``null`` leaves the default, the
  last duplicate wins, ints accept only integer literals in range, and the first type mismatch is
  reported as ``json: cannot unmarshal number 1.5 into Go struct field
  LatencyToxic.attributes.latency of type int64``.
- :func:`quote` and :func:`format_float32` encode strings (``<``, ``>``, ``&`` escaped) and
  ``float32`` values (shortest round-trip digits, no ``.0``) like Go.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chaos.errors import ChaosError

__all__ = [
    "GoField",
    "GoJSONError",
    "GoStruct",
    "Number",
    "Object",
    "decode_struct",
    "decode_struct_list",
    "format_float32",
    "kind_of",
    "quote",
    "scan",
    "to_float32",
]


class GoJSONError(ChaosError):
    """A body Go's decoder rejects; ``str(exc)`` is Go's error text."""


class Number(str):
    """A JSON number, kept as its literal text (Go reports the literal in type errors)."""

    __slots__ = ()


class Object(list[tuple[str, Any]]):
    """A JSON object as its ``(key, value)`` pairs in body order (duplicates kept)."""

    __slots__ = ()


_WHITESPACE = frozenset(b" \t\r\n")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = {
    ord('"'): '"',
    ord("\\"): "\\",
    ord("/"): "/",
    ord("b"): "\b",
    ord("f"): "\f",
    ord("n"): "\n",
    ord("r"): "\r",
    ord("t"): "\t",
}
_GO_CHAR_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}


def _quote_char(byte: int) -> str:
    """Go's ``quoteChar``: how the scanner names an offending byte."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    if byte < 0x80:
        if 0x20 <= byte < 0x7F:
            return f"'{chr(byte)}'"
        return "'" + _GO_CHAR_ESCAPES.get(byte, f"\\x{byte:02x}") + "'"
    char = chr(byte)  # Go converts the byte to the rune of the same value
    return f"'{char}'" if char.isprintable() else f"'\\u{byte:04x}'"


class _Scanner:
    """Recursive-descent reader of one JSON value with Go's scanner messages."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def fail(self, context: str) -> GoJSONError:
        if self.pos >= len(self.data):
            return GoJSONError("unexpected EOF")
        return GoJSONError(f"invalid character {_quote_char(self.data[self.pos])} {context}")

    def skip_space(self) -> None:
        data, pos = self.data, self.pos
        while pos < len(data) and data[pos] in _WHITESPACE:
            pos += 1
        self.pos = pos

    def peek(self) -> int:
        return self.data[self.pos] if self.pos < len(self.data) else -1

    def value(self) -> Any:
        self.skip_space()
        byte = self.peek()
        if byte == ord("{"):
            return self.object()
        if byte == ord("["):
            return self.array()
        if byte == ord('"'):
            return self.string()
        if byte == ord("-") or byte in _DIGITS:
            return self.number()
        for literal, result in ((b"true", True), (b"false", False), (b"null", None)):
            if byte == literal[0]:
                return self.literal(literal, result)
        raise self.fail("looking for beginning of value")

    def object(self) -> Object:
        self.pos += 1  # '{'
        pairs = Object()
        self.skip_space()
        if self.peek() == ord("}"):
            self.pos += 1
            return pairs
        while True:
            self.skip_space()
            if self.peek() != ord('"'):
                raise self.fail("looking for beginning of object key string")
            key = self.string()
            self.skip_space()
            if self.peek() != ord(":"):
                raise self.fail("after object key")
            self.pos += 1
            pairs.append((key, self.value()))
            self.skip_space()
            byte = self.peek()
            if byte == ord(","):
                self.pos += 1
            elif byte == ord("}"):
                self.pos += 1
                return pairs
            else:
                raise self.fail("after object key:value pair")

    def array(self) -> list[Any]:
        self.pos += 1  # '['
        items: list[Any] = []
        self.skip_space()
        if self.peek() == ord("]"):
            self.pos += 1
            return items
        while True:
            items.append(self.value())
            self.skip_space()
            byte = self.peek()
            if byte == ord(","):
                self.pos += 1
            elif byte == ord("]"):
                self.pos += 1
                return items
            else:
                raise self.fail("after array element")

    def literal(self, literal: bytes, result: Any) -> Any:
        name = literal.decode()
        self.pos += 1
        for expected in literal[1:]:
            if self.peek() != expected:
                raise self.fail(f"in literal {name} (expecting '{chr(expected)}')")
            self.pos += 1
        return result

    def digits(self) -> None:
        data, pos = self.data, self.pos
        while pos < len(data) and data[pos] in _DIGITS:
            pos += 1
        self.pos = pos

    def number(self) -> Number:
        start = self.pos
        if self.peek() == ord("-"):
            self.pos += 1
            if self.peek() not in _DIGITS:
                raise self.fail("in numeric literal")
        if self.peek() == ord("0"):
            self.pos += 1
        else:
            self.digits()
        if self.peek() == ord("."):
            self.pos += 1
            if self.peek() not in _DIGITS:
                raise self.fail("after decimal point in numeric literal")
            self.digits()
        if self.peek() in (ord("e"), ord("E")):
            self.pos += 1
            if self.peek() in (ord("+"), ord("-")):
                self.pos += 1
            if self.peek() not in _DIGITS:
                raise self.fail("in exponent of numeric literal")
            self.digits()
        return Number(self.data[start : self.pos].decode("ascii"))

    def string(self) -> str:
        data = self.data
        self.pos += 1  # opening quote
        parts: list[str] = []
        run_start = self.pos
        while True:
            if self.pos >= len(data):
                raise GoJSONError("unexpected EOF")
            byte = data[self.pos]
            if byte == ord('"'):
                parts.append(data[run_start : self.pos].decode("utf-8", "replace"))
                self.pos += 1
                return "".join(parts)
            if byte < 0x20:
                raise self.fail("in string literal")
            if byte != ord("\\"):
                self.pos += 1
                continue
            parts.append(data[run_start : self.pos].decode("utf-8", "replace"))
            self.pos += 1
            escape = self.peek()
            if escape in _SIMPLE_ESCAPES:
                parts.append(_SIMPLE_ESCAPES[escape])
                self.pos += 1
            elif escape == ord("u"):
                self.pos += 1
                parts.append(self.unicode_escape())
            else:
                raise self.fail("in string escape code")
            run_start = self.pos

    def hex4(self) -> int:
        for _ in range(4):
            if self.peek() not in _HEX:
                raise self.fail("in \\u hexadecimal character escape")
            self.pos += 1
        return int(self.data[self.pos - 4 : self.pos], 16)

    def unicode_escape(self) -> str:
        code = self.hex4()
        if 0xD800 <= code < 0xDC00:
            # A high surrogate combines only with an immediately following low one (Go unquote).
            data, pos = self.data, self.pos
            if data[pos : pos + 2] == b"\\u" and all(b in _HEX for b in data[pos + 2 : pos + 6]):
                low = int(data[pos + 2 : pos + 6], 16) if len(data) >= pos + 6 else -1
                if 0xDC00 <= low < 0xE000:
                    self.pos += 6
                    return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))
            return "\ufffd"
        if 0xDC00 <= code < 0xE000:
            return "\ufffd"
        return chr(code)


def scan(body: bytes) -> Any:
    """Read the first JSON value of ``body`` as Go's ``json.Decoder`` does.

    Returns:
        The value: :class:`Object`, ``list``, ``str``, :class:`Number`, ``bool`` or ``None``.

    Raises:
        GoJSONError: ``EOF`` for an empty body, ``unexpected EOF`` for a truncated value, or Go's
            ``invalid character ...`` message. Bytes after the first value are never read.
    """
    scanner = _Scanner(body)
    scanner.skip_space()
    if scanner.pos >= len(body):
        raise GoJSONError("EOF")
    return scanner.value()


def kind_of(value: Any) -> str:
    """Go's name for a JSON value's kind in ``UnmarshalTypeError`` (``string``, ``number``, ...)."""
    if isinstance(value, Number):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, Object):
        return "object"
    return "array"


# --- decoding into a schema ------------------------------------------------------------------

_INT_RANGES = {"int64": 63, "int": 63, "int32": 31}


@dataclass(frozen=True)
class GoField:
    """One field of a Go struct as JSON sees it.

    Attributes:
        name: the JSON key (from the struct tag).
        go_type: the Go type as ``reflect`` prints it (``int64``, ``toxics.NoopToxic``); its kind
            decides what is accepted: ``string``, ``bool``, ``int64``/``int``, ``float32``, or a
            struct type (any name with a dot) whose fields are ``struct``.
        struct: the nested schema when the field is a struct (``None`` = a struct without
            exported fields: every key ignored).
    """

    name: str
    go_type: str
    struct: GoStruct | None = None


@dataclass(frozen=True)
class GoStruct:
    """A Go struct type: ``name`` as ``reflect.Type.Name()`` (``""`` when anonymous), ``go_type``
    as ``reflect.Type.String()``, and its JSON fields."""

    name: str
    go_type: str
    fields: tuple[GoField, ...] = ()
    _folded: dict[str, GoField] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", {f.name.casefold(): f for f in self.fields})

    def lookup(self, key: str) -> GoField | None:
        """The field a key fills: exact tag first, then a case-insensitive match (Go's rule)."""
        for candidate in self.fields:
            if candidate.name == key:
                return candidate
        return self._folded.get(key.casefold())


class _Decoder:
    def __init__(self) -> None:
        self.error: str | None = None

    def save(self, value: Any, go_type: str, struct: GoStruct | None, path: list[str]) -> None:
        if self.error is not None:
            return  # Go keeps the first type error and goes on decoding
        kind = kind_of(value)
        if isinstance(value, Number) and _is_numeric(go_type):
            kind = f"number {value}"
        if struct is None and not path:
            self.error = f"json: cannot unmarshal {kind} into Go value of type {go_type}"
        else:
            where = (struct.name if struct else "") + "." + ".".join(path)
            self.error = (
                f"json: cannot unmarshal {kind} into Go struct field {where} of type {go_type}"
            )

    def struct(
        self, value: Any, schema: GoStruct, outer: GoStruct | None, path: list[str]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if value is None:
            return result
        if not isinstance(value, Object):
            self.save(value, schema.go_type, outer, path)
            return result
        for key, item in value:
            target = schema.lookup(key)
            if target is None or item is None:
                continue
            stored = self.field(item, target, schema, [*path, target.name])
            if stored is not _SKIP:
                result[target.name] = stored
        return result

    def field(self, value: Any, target: GoField, owner: GoStruct, path: list[str]) -> Any:
        go_type = target.go_type
        if "." in go_type:  # a struct type
            nested = target.struct or GoStruct("", go_type)
            if not isinstance(value, Object):
                self.save(value, go_type, owner, path)
                return _SKIP
            return self.struct(value, nested, owner, path)
        if go_type == "string":
            if isinstance(value, str) and not isinstance(value, Number):
                return value
        elif go_type == "bool":
            if isinstance(value, bool):
                return value
        elif go_type in _INT_RANGES:
            if isinstance(value, Number):
                parsed = _parse_int(value, _INT_RANGES[go_type])
                if parsed is not None:
                    return parsed
        elif go_type == "float32" and isinstance(value, Number):
            parsed32 = to_float32(float(value))
            if parsed32 is not None:
                return parsed32
        self.save(value, go_type, owner, path)
        return _SKIP


_SKIP = object()


def _is_numeric(go_type: str) -> bool:
    return go_type in _INT_RANGES or go_type == "float32"


def _parse_int(literal: str, bits: int) -> int | None:
    """Go ``strconv.ParseInt(s, 10, 64)`` plus the field's range: integer literals only."""
    digits = literal[1:] if literal.startswith("-") else literal
    if not digits.isdigit() or not digits.isascii():
        return None
    value = int(literal)
    if not -(1 << bits) <= value < (1 << bits):
        return None
    return value


def to_float32(value: float) -> float | None:
    """``value`` rounded to the nearest float32, or ``None`` when it overflows (Go: range error)."""
    if math.isinf(value) or math.isnan(value):
        return None
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return None


def decode_struct(value: Any, schema: GoStruct) -> tuple[dict[str, Any], str | None]:
    """Store a scanned value into ``schema`` as Go's decoder would.

    Returns:
        ``(fields, error)``: the fields the body set (JSON names; nested structs as dicts; absent or
        ``null`` keys left out, so callers keep their defaults) and Go's message for the first type
        mismatch, or ``None``. Like Go, fields after a mismatch are still decoded.
    """
    decoder = _Decoder()
    result = decoder.struct(value, schema, None, [])
    return result, decoder.error


def decode_struct_list(
    value: Any, element: GoStruct, go_type: str
) -> tuple[list[dict[str, Any]], str | None]:
    """Decode a JSON array of ``element`` structs (``go_type`` names the slice type).

    ``null`` is an empty list, as Go leaves a nil slice.
    """
    decoder = _Decoder()
    if value is None:
        return [], None
    if not isinstance(value, list) or isinstance(value, Object):
        decoder.save(value, go_type, None, [])
        return [], decoder.error
    items = []
    for item in value:
        if item is not None and not isinstance(item, Object):
            decoder.save(item, element.go_type, None, [])
            items.append({})
            continue
        items.append(decoder.struct(item, element, None, []))
    return items, decoder.error


# --- encoding ----------------------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - set(_ESCAPES)


def quote(text: str) -> str:
    """A JSON string literal as Go's ``json.Marshal`` writes it (HTML-safe, raw non-ASCII)."""
    if all(char in _PLAIN for char in text):
        return f'"{text}"'
    out = ['"']
    for char in text:
        if char in _PLAIN:
            out.append(char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        elif 0xD800 <= ord(char) < 0xE000:
            out.append("\\ufffd")  # Go writes invalid UTF-8 as an escaped replacement char
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


_F32_SMALL = struct.unpack("<f", struct.pack("<f", 1e-6))[0]


def format_float32(value: float) -> str:
    """Go's ``json.Marshal`` of a ``float32``: shortest round-trip digits (``1``, ``0.5``, ``0.2``),
    exponent form only below 1e-6 or from 1e21 (``1e-7``, ``1e+21``)."""
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    for precision in range(9):
        text = f"{value:.{precision}e}"
        if to_float32(float(text)) == value:
            break
    mantissa, exponent_text = text.split("e")
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    exponent = int(exponent_text)
    magnitude = abs(value)
    if magnitude < _F32_SMALL or magnitude >= 1e21:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        # Go prints at least two exponent digits, then trims "e-07" to "e-7".
        exp = f"e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
        if exp.startswith("e-0"):
            exp = "e-" + exp[3:]
        return sign + body + exp
    if exponent >= 0:
        whole = digits[: exponent + 1].ljust(exponent + 1, "0")
        frac = digits[exponent + 1 :]
    else:
        whole = "0"
        frac = "0" * (-exponent - 1) + digits
    return sign + whole + ("." + frac if frac else "")


def join_object(pairs: Iterable[tuple[str, str]]) -> str:
    """A compact JSON object from already-encoded values, keys in the given order."""
    return "{" + ",".join(f"{quote(key)}:{value}" for key, value in pairs) + "}"
