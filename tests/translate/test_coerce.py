"""Strings from the path and query, and typed JSON from the body, coerced by XSD type."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import isodate
import pytest
from lxml import etree
from wsdls import TNS, load_operation, write_wsdl, wsdl

from facade.soap.message import build_request
from facade.translate.coerce import CoercionError, coerce_simple
from facade.xsdtypes import INTEGER_RANGES

ROOT = Path(__file__).resolve().parent.parent.parent


def refused(value: object, base: str) -> str:
    with pytest.raises(CoercionError) as caught:
        coerce_simple(value, base)
    return str(caught.value)


# Integers and their ranges


@pytest.mark.parametrize(
    ("value", "base", "expected"),
    [
        ("42", "int", 42),
        ("-42", "int", -42),
        ("+7", "long", 7),
        (" 12 ", "int", 12),
        ("007", "short", 7),
        (42, "int", 42),
        (3.0, "int", 3),
        ("123456789012345678901234567890", "integer", 123456789012345678901234567890),
        ("0", "nonNegativeInteger", 0),
        ("1", "positiveInteger", 1),
        ("0", "nonPositiveInteger", 0),
        ("-1", "negativeInteger", -1),
    ],
)
def test_integers(value: object, base: str, expected: int) -> None:
    coerced = coerce_simple(value, base)
    assert coerced == expected
    assert type(coerced) is int


@pytest.mark.parametrize(
    ("base", "low", "high"),
    [
        ("byte", -128, 127),
        ("short", -32768, 32767),
        ("int", -2147483648, 2147483647),
        ("long", -9223372036854775808, 9223372036854775807),
        ("unsignedByte", 0, 255),
        ("unsignedShort", 0, 65535),
        ("unsignedInt", 0, 4294967295),
        ("unsignedLong", 0, 18446744073709551615),
    ],
)
def test_integer_range_edges(base: str, low: int, high: int) -> None:
    assert INTEGER_RANGES[base] == (low, high)
    assert coerce_simple(str(low), base) == low
    assert coerce_simple(str(high), base) == high
    assert refused(str(high + 1), base) == (
        f"expected xsd:{base} between {low} and {high}, got {high + 1}"
    )
    assert refused(low - 1, base) == f"expected xsd:{base} between {low} and {high}, got {low - 1}"


@pytest.mark.parametrize(
    ("base", "value", "bound"),
    [
        ("positiveInteger", "0", "of at least 1"),
        ("negativeInteger", "0", "of at most -1"),
        ("nonNegativeInteger", "-1", "of at least 0"),
    ],
)
def test_open_ended_ranges(base: str, value: str, bound: str) -> None:
    assert refused(value, base) == f"expected xsd:{base} {bound}, got {value}"


LONG = [5_000, 100_000]


@pytest.mark.parametrize("digits", LONG)
@pytest.mark.parametrize("sign", ["", "-", "+"])
def test_integers_of_any_length_are_refused_not_crashed_on(digits: int, sign: str) -> None:
    text = sign + "9" * digits
    shown = f"a number of {digits} digits"
    assert (
        refused(text, "int") == f"expected xsd:int between {-(2**31)} and {2**31 - 1}, got {shown}"
    )
    assert refused(text, "integer") == f"expected xsd:integer of at most 1000 digits, got {shown}"


def test_integer_digits_are_counted_without_leading_zeros() -> None:
    assert coerce_simple("0" * 5_000 + "42", "integer") == 42
    assert coerce_simple("-" + "0" * 5_000 + "42", "int") == -42
    assert coerce_simple("9" * 1000, "integer") == int("9" * 1000)
    assert refused("9" * 1001, "integer").endswith("got a number of 1001 digits")


@pytest.mark.parametrize(
    ("base", "text", "message"),
    [
        ("nonNegativeInteger", "-" + "1" * 5000, "of at least 0, got a number of 5000 digits"),
        ("nonNegativeInteger", "1" * 5000, "of at most 1000 digits, got a number of 5000 digits"),
        ("negativeInteger", "1" * 5000, "of at most -1, got a number of 5000 digits"),
    ],
)
def test_too_long_on_a_bounded_side_is_out_of_range(base: str, text: str, message: str) -> None:
    assert refused(text, base) == f"expected xsd:{base} {message}"


def test_long_numbers_are_shown_by_their_length() -> None:
    assert refused("9" * 500, "long") == (
        f"expected xsd:long between {-(2**63)} and {2**63 - 1}, got a number of 500 digits"
    )
    assert refused(10**5000, "integer") == (
        "expected xsd:integer of at most 1000 digits, got a number of 5001 digits"
    )
    assert refused("1" * 5000 + "x", "int") == f"expected xsd:int (an integer), got '{'1' * 36}..."


def test_floats_beyond_exact_integers_are_refused() -> None:
    assert coerce_simple(float(2**53 - 1), "integer") == 2**53 - 1
    assert refused(1.111111111111111e29, "integer") == (
        "expected xsd:integer (an integer); 1.111111111111111e+29 is too large for a JSON "
        "number to carry exactly, send it as a string"
    )
    assert refused(1e30, "int").startswith("expected xsd:int between")


@pytest.mark.parametrize(
    "value", ["1.0", "1.5", 1.5, "0x10", "1_000", "1e3", "", " ", "one", "١٢", "１２", None, [1]]
)
def test_not_integers(value: object) -> None:
    assert refused(value, "int") == f"expected xsd:int (an integer), got {value!r}"


def test_boolean_is_not_an_integer() -> None:
    assert refused(True, "int") == "expected xsd:int (an integer), got a boolean"


# Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.50", "1234.50"),
        ("-0.01", "-0.01"),
        ("+5", "5"),
        ("5.", "5"),
        (".5", "0.5"),
        (" 3.14 ", "3.14"),
        ("12345678901234567890.123456789", "12345678901234567890.123456789"),
        (7, "7"),
        (0.1, "0.1"),  # from the float's shortest repr, not its binary expansion
        (1e20, "1E+20"),
    ],
)
def test_decimals(value: object, expected: str) -> None:
    coerced = coerce_simple(value, "decimal")
    assert isinstance(coerced, Decimal)
    assert coerced == Decimal(expected)
    assert str(coerced) == expected


@pytest.mark.parametrize(
    "value", ["1e5", "1,5", "", ".", "INF", "NaN", "٣.٥", "0x1", [1], {"a": 1}, math.inf, math.nan]
)
def test_not_decimals(value: object) -> None:
    assert refused(value, "decimal") == (
        f"expected xsd:decimal (digits with an optional '.'), got {value!r}"
    )


def test_boolean_is_not_a_decimal() -> None:
    assert refused(False, "decimal") == "expected xsd:decimal, got a boolean"


# Boolean


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), ("1", True), ("0", False), (" true ", True), (True, True)],
)
def test_booleans(value: object, expected: bool) -> None:
    assert coerce_simple(value, "boolean") is expected


@pytest.mark.parametrize("value", ["True", "FALSE", "yes", "no", "on", "", "2", 1, 0, None])
def test_not_booleans(value: object) -> None:
    assert refused(value, "boolean") == (
        f"expected xsd:boolean (true, false, 1 or 0), got {value!r}"
    )


# Floats


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.5", 1.5),
        ("-2", -2.0),
        ("1e5", 1e5),
        ("1E-3", 1e-3),
        ("-.5e+2", -50.0),
        (".5", 0.5),
        (3, 3.0),
        (2.5, 2.5),
        ("INF", math.inf),
        ("+INF", math.inf),
        ("-INF", -math.inf),
    ],
)
@pytest.mark.parametrize("base", ["float", "double"])
def test_floats(value: object, expected: float, base: str) -> None:
    coerced = coerce_simple(value, base)
    assert type(coerced) is float
    assert coerced == expected


def test_nan() -> None:
    assert math.isnan(coerce_simple("NaN", "double"))


@pytest.mark.parametrize(
    "value", ["inf", "Infinity", "nan", "-NaN", "1e", "e5", "1.5f", "0x1p3", "", "١", None]
)
def test_not_floats(value: object) -> None:
    assert refused(value, "double") == f"expected a number, got {value!r}"


def test_boolean_is_not_a_float() -> None:
    assert refused(True, "float") == "expected a number, got a boolean"


# Dates and times


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15", date(2024, 1, 15)),
        (" 2024-02-29 ", date(2024, 2, 29)),
        ("1815-12-10", date(1815, 12, 10)),
        ("2024-01-15Z", date(2024, 1, 15)),
        ("2024-01-15+02:00", date(2024, 1, 15)),
    ],
)
def test_dates(value: str, expected: date) -> None:
    assert coerce_simple(value, "date") == expected


@pytest.mark.parametrize("text", ["0999-01-01", "0001-12-31", "0042-06-15"])
def test_dates_before_year_1000_go_out_with_four_digits(tmp_path: Path, text: str) -> None:
    arguments = '<xs:element name="Day" type="xs:date"/><xs:element name="At" type="xs:dateTime"/>'
    operation = load_operation(write_wsdl(tmp_path, "t.wsdl", wsdl({"Op": (arguments, "")})), "Op")
    day = coerce_simple(text, "date")
    at = coerce_simple(f"{text}T05:06:07Z", "dateTime")
    request = build_request(operation, {"Day": day, "At": at}, "http://127.0.0.1:9/svc")
    xml = etree.fromstring(request.content)
    assert xml.findtext(f".//{{{TNS}}}Day") == text
    assert xml.findtext(f".//{{{TNS}}}At") == f"{text}T05:06:07Z"


@pytest.mark.parametrize(
    "value",
    ["2024-1-5", "2024-02-30", "2023-02-29", "15/01/2024", "2024-01-15T10:00:00", "20240115", ""],
)
def test_not_dates(value: str) -> None:
    assert refused(value, "date") == f"expected xsd:date (ISO 8601), got {value!r}"


@pytest.mark.parametrize("value", [20240115, None, ["2024-01-15"]])
def test_dates_must_be_strings(value: object) -> None:
    assert refused(value, "date") == f"expected xsd:date as an ISO 8601 string, got {value!r}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15T10:30:00Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        (
            "2024-01-15T10:30:00.250+01:00",
            datetime(2024, 1, 15, 10, 30, 0, 250000, tzinfo=timezone(timedelta(hours=1))),
        ),
        ("2024-01-15T10:30:00", datetime(2024, 1, 15, 10, 30)),
        (
            "2024-01-15T23:59:59-05:30",
            datetime(2024, 1, 15, 23, 59, 59, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
    ],
)
def test_datetimes(value: str, expected: datetime) -> None:
    coerced = coerce_simple(value, "dateTime")
    assert coerced == expected
    assert coerced.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "value", ["2024-01-15", "2024-01-15 10:30:00", "10:30:00", "2024-13-01T00:00:00", "soon", ""]
)
def test_not_datetimes(value: str) -> None:
    assert refused(value, "dateTime") == f"expected xsd:dateTime (ISO 8601), got {value!r}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10:30:00", time(10, 30)),
        ("23:59:59.5", time(23, 59, 59, 500000)),
        ("00:00:00Z", time(0, 0, tzinfo=UTC)),
        ("08:00:00+02:00", time(8, 0, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_times(value: str, expected: time) -> None:
    assert coerce_simple(value, "time") == expected


@pytest.mark.parametrize("value", ["25:00:00", "10:61:00", "noon", "", "2024-01-15T10:00:00"])
def test_not_times(value: str) -> None:
    assert refused(value, "time") == f"expected xsd:time (ISO 8601), got {value!r}"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PT30M", timedelta(minutes=30)),
        ("P2D", timedelta(days=2)),
        ("-P1D", timedelta(days=-1)),
        ("PT1.5S", timedelta(seconds=1.5)),
        (
            "P1Y2M3DT4H5M6S",
            isodate.Duration(days=3, hours=4, minutes=5, seconds=6, years=1, months=2),
        ),
    ],
)
def test_durations(value: str, expected: object) -> None:
    assert coerce_simple(value, "duration") == expected


@pytest.mark.parametrize("value", ["P", "1 day", "30M", "PT-5M", ""])
def test_not_durations(value: str) -> None:
    assert refused(value, "duration") == f"expected xsd:duration (ISO 8601), got {value!r}"


# Binary


@pytest.mark.parametrize(
    ("value", "expected"),
    [("AAEC", b"\x00\x01\x02"), ("", b""), ("aGk=", b"hi"), ("/+8=", b"\xff\xef")],
)
def test_base64(value: str, expected: bytes) -> None:
    assert coerce_simple(value, "base64Binary") == expected


@pytest.mark.parametrize("value", ["AAE", "A A E C", "a*==", "-_8=", "===="])
def test_not_base64(value: str) -> None:
    assert refused(value, "base64Binary") == "expected xsd:base64Binary (base64 text)"


def test_base64_must_be_text() -> None:
    assert refused(b"AAEC", "base64Binary") == (
        "expected xsd:base64Binary (base64 text), got b'AAEC'"
    )


@pytest.mark.parametrize(("value", "expected"), [("0aFF", "0aFF"), ("", ""), (" cafe ", "cafe")])
def test_hex(value: str, expected: str) -> None:
    assert coerce_simple(value, "hexBinary") == expected


@pytest.mark.parametrize("value", ["0aF", "zz", "0x0a", 10])
def test_not_hex(value: object) -> None:
    assert refused(value, "hexBinary") == (
        f"expected xsd:hexBinary (pairs of hex digits), got {value!r}"
    )


# Text and everything else


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("</Name><Admin>", "</Name><Admin>"),
        ("  spaced  ", "  spaced  "),
        ("", ""),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (1.5, "1.5"),
    ],
)
@pytest.mark.parametrize("base", ["string", "token", "anyURI", "QName", "anySimpleType"])
def test_text(value: object, expected: str, base: str) -> None:
    assert coerce_simple(value, base) == expected


@pytest.mark.parametrize(("value", "kind"), [({"a": 1}, "dict"), ([1], "list"), (None, "NoneType")])
def test_text_refuses_structures(value: object, kind: str) -> None:
    assert refused(value, "string") == f"expected text, got {kind}"
