"""Go ``encoding/json`` behaviour: scanner messages, strict struct decoding, float32 and strings."""

from __future__ import annotations

import pytest

from chaos.toxiproxy.gojson import (
    GoField,
    GoJSONError,
    GoStruct,
    Number,
    Object,
    decode_struct,
    format_float32,
    quote,
    scan,
    to_float32,
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "EOF"),
        (b" \n\t ", "EOF"),
        (b"{", "unexpected EOF"),
        (b'{"name":', "unexpected EOF"),
        (b'{"name":"x"', "unexpected EOF"),
        (b'"abc', "unexpected EOF"),
        (b"tru", "unexpected EOF"),
        (b"{bad}", "invalid character 'b' looking for beginning of object key string"),
        (b"{'a':1}", "invalid character '\\'' looking for beginning of object key string"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b"[1,]", "invalid character ']' looking for beginning of value"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b"}", "invalid character '}' looking for beginning of value"),
        (b"trux", "invalid character 'x' in literal true (expecting 'e')"),
        (b"nul!", "invalid character '!' in literal null (expecting 'l')"),
        (b"fxlse", "invalid character 'x' in literal false (expecting 'a')"),
        (b"-x", "invalid character 'x' in numeric literal"),
        (b"1.x", "invalid character 'x' after decimal point in numeric literal"),
        (b"1ex", "invalid character 'x' in exponent of numeric literal"),
        (b"1e+", "unexpected EOF"),
        (b'"a\x01"', "invalid character '\\x01' in string literal"),
        (b'"a\nb"', "invalid character '\\n' in string literal"),
        (b'"\\q"', "invalid character 'q' in string escape code"),
        (b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
        (b"\xc3\xa9", "invalid character '\u00c3' looking for beginning of value"),
    ],
)
def test_scan_fails_with_go_messages(body: bytes, message: str) -> None:
    with pytest.raises(GoJSONError) as caught:
        scan(body)
    assert str(caught.value) == message


def test_scan_reads_only_the_first_value() -> None:
    assert scan(b'{"a":1}trailing junk') == [("a", "1")]
    assert scan(b"12 garbage") == "12"
    assert isinstance(scan(b"12 x"), Number)


def test_scan_values() -> None:
    value = scan(
        b' {"s":"a\\"\\u00e9\\ud83d\\ude00\\ud83d","n":-1.5e3,"t":true,"z":null,"l":[1,{}]}'
    )
    assert isinstance(value, Object)
    assert dict(value) == {"s": 'a"é😀\ufffd', "n": "-1.5e3", "t": True, "z": None, "l": ["1", []]}
    assert isinstance(dict(value)["l"][1], Object)


_INNER = GoStruct("LatencyToxic", "toxics.LatencyToxic", (GoField("latency", "int64"),))
_OUTER = GoStruct(
    "Wrapper",
    "pkg.Wrapper",
    (
        GoField("name", "string"),
        GoField("enabled", "bool"),
        GoField("toxicity", "float32"),
        GoField("attributes", "toxics.LatencyToxic", _INNER),
    ),
)


def test_decode_matches_keys_case_insensitively_and_last_duplicate_wins() -> None:
    fields, error = decode_struct(
        scan(b'{"NAME":"a","name":"b","Attributes":{"LATENCY":5},"x":1,"enabled":null}'), _OUTER
    )
    assert error is None
    assert fields == {"name": "b", "attributes": {"latency": 5}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"attributes":{"latency":1.5}}',
            "json: cannot unmarshal number 1.5 into Go struct field "
            "LatencyToxic.attributes.latency of type int64",
        ),
        (
            b'{"attributes":{"latency":1e3}}',
            "json: cannot unmarshal number 1e3 into Go struct field "
            "LatencyToxic.attributes.latency of type int64",
        ),
        (
            b'{"attributes":{"latency":"100"}}',
            "json: cannot unmarshal string into Go struct field "
            "LatencyToxic.attributes.latency of type int64",
        ),
        (
            b'{"attributes":{"latency":9223372036854775808}}',
            "json: cannot unmarshal number 9223372036854775808 into Go struct field "
            "LatencyToxic.attributes.latency of type int64",
        ),
        (
            b'{"attributes":5}',
            "json: cannot unmarshal number into Go struct field Wrapper.attributes "
            "of type toxics.LatencyToxic",
        ),
        (
            b'{"name":5}',
            "json: cannot unmarshal number into Go struct field Wrapper.name of type string",
        ),
        (
            b'{"enabled":"yes"}',
            "json: cannot unmarshal string into Go struct field Wrapper.enabled of type bool",
        ),
        (
            b'{"toxicity":1e40}',
            "json: cannot unmarshal number 1e40 into Go struct field Wrapper.toxicity "
            "of type float32",
        ),
        (b"[]", "json: cannot unmarshal array into Go value of type pkg.Wrapper"),
        (b'"x"', "json: cannot unmarshal string into Go value of type pkg.Wrapper"),
    ],
)
def test_decode_reports_the_first_type_error_like_go(body: bytes, message: str) -> None:
    _, error = decode_struct(scan(body), _OUTER)
    assert error == message


def test_decode_goes_on_after_a_type_error() -> None:
    fields, error = decode_struct(scan(b'{"name":1,"enabled":true,"toxicity":"x"}'), _OUTER)
    assert error is not None and "Wrapper.name" in error
    assert fields == {"enabled": True}


def test_integer_bounds_are_strict() -> None:
    fields, error = decode_struct(scan(b'{"attributes":{"latency":-9223372036854775808}}'), _OUTER)
    assert error is None and fields["attributes"]["latency"] == -(2**63)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.5, "0.5"),
        (0.2, "0.2"),
        (0.1, "0.1"),
        (0.3, "0.3"),
        (2.5, "2.5"),
        (-1.0, "-1"),
        (0.0, "0"),
        (-0.0, "-0"),
        (100.0, "100"),
        (123456789.0, "123456790"),
        (1.5e20, "150000000000000000000"),
        (1e21, "1e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.25e-9, "1.25e-9"),
        (3.4028234663852886e38, "3.4028235e+38"),
    ],
)
def test_float32_formatting_matches_go(value: float, text: str) -> None:
    as_float32 = to_float32(value)
    assert as_float32 is not None
    assert format_float32(as_float32) == text


def test_float32_overflow_is_none() -> None:
    assert to_float32(1e39) is None
    assert to_float32(float("inf")) is None


@pytest.mark.parametrize(
    ("text", "encoded"),
    [
        ("plain", '"plain"'),
        ("a<b>&c", '"a\\u003cb\\u003e\\u0026c"'),
        ('q"\\', '"q\\"\\\\"'),
        ("\n\t\r\b\f\x01", '"\\n\\t\\r\\b\\f\\u0001"'),
        ("é ünïcode", '"é ünïcode"'),
        ("\u2028\u2029", '"\\u2028\\u2029"'),
    ],
)
def test_quote_matches_go(text: str, encoded: str) -> None:
    assert quote(text) == encoded
