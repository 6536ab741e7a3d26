"""Coerce JSON values to what an XSD simple type accepts, or say what was expected.

Path and query values arrive as strings; body values arrive typed by JSON. Both are
checked against the XSD type's lexical rules here (zeep's own parsers are lenient:
its boolean reads "yes" as false), and become the Python values zeep serializes.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import isodate

from facade.xsdtypes import INTEGER_RANGES

_INTEGER = re.compile(r"^[+-]?\d+$", re.ASCII)  # XSD digits are 0-9 only
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$", re.ASCII)
_EXPONENT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)[eE][+-]?\d+$", re.ASCII)
_FLOAT_SPECIAL = {"INF": math.inf, "+INF": math.inf, "-INF": -math.inf, "NaN": math.nan}

MAX_INTEGER_DIGITS = 1000
"""Longest integer accepted, in digits. xsd:integer has no bound, but no backend wants more,
and Python itself refuses to read integers of 4,300 digits and more from text."""
EXACT_FLOAT_LIMIT = 2**53
"""JSON parsers hand over larger integers as floats, which may have been rounded on the way."""
_TOO_LONG = 10**MAX_INTEGER_DIGITS
_SHOWN_LENGTH = 40  # longer numbers and texts are shown abridged in messages


class CoercionError(ValueError):
    """The value does not fit; the message says what was expected."""


def coerce_simple(value: Any, base: str) -> Any:
    """`value` as the Python value zeep expects for XSD built-in `base`."""
    if base in INTEGER_RANGES:
        return _integer(value, base)
    coerce: Callable[[Any], Any] = _COERCERS.get(base, _text)
    return coerce(value)


def _integer(value: Any, base: str) -> int:
    number = _integer_value(value, base)
    low, high = INTEGER_RANGES[base]
    if (low is not None and number < low) or (high is not None and number > high):
        raise CoercionError(f"expected xsd:{base} {_bounds(low, high)}, got {_shown(number)}")
    if isinstance(value, float) and abs(value) >= EXACT_FLOAT_LIMIT:
        raise CoercionError(
            f"expected xsd:{base} (an integer); {value!r} is too large for a JSON number "
            "to carry exactly, send it as a string"
        )
    return number


def _integer_value(value: Any, base: str) -> int:
    """The integer `value` stands for, refusing more digits than MAX_INTEGER_DIGITS."""
    if isinstance(value, bool):
        raise CoercionError(f"expected xsd:{base} (an integer), got a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and _INTEGER.match(value.strip()):
        text = value.strip()
        negative = text.startswith("-")
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) > MAX_INTEGER_DIGITS:  # before int(): Python refuses 4,300 digits
            raise _too_long(base, negative, len(digits))
        number = -int(digits) if negative else int(digits)
    else:
        raise CoercionError(f"expected xsd:{base} (an integer), got {_abridged(value)}")
    if abs(number) >= _TOO_LONG:
        raise _too_long(base, number < 0, _digit_count(number))
    return number


def _too_long(base: str, negative: bool, digits: int) -> CoercionError:
    low, high = INTEGER_RANGES[base]
    shown = f"a number of {digits} digits"
    if (low if negative else high) is not None:
        return CoercionError(f"expected xsd:{base} {_bounds(low, high)}, got {shown}")
    return CoercionError(f"expected xsd:{base} of at most {MAX_INTEGER_DIGITS} digits, got {shown}")


def _bounds(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"between {low} and {high}"
    return f"of at least {low}" if low is not None else f"of at most {high}"


def _shown(number: int) -> str:
    """The number for a message; a long one by its length, which is what is wrong with it."""
    if abs(number) < 10**_SHOWN_LENGTH:
        return str(number)
    return f"a number of {_digit_count(number)} digits"


def _digit_count(number: int) -> int:
    """Decimal digits of an integer of any size (str() refuses 4,300 digits and more)."""
    magnitude = abs(number)
    digits = int(magnitude.bit_length() * math.log10(2)) + 1  # exact, or one too many
    return digits - 1 if digits > 1 and magnitude < 10 ** (digits - 1) else digits


def _abridged(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_LENGTH else f"{text[: _SHOWN_LENGTH - 3]}..."


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise CoercionError("expected xsd:decimal, got a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    if isinstance(value, str) and _DECIMAL.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            pass
    raise CoercionError(f"expected xsd:decimal (digits with an optional '.'), got {value!r}")


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise CoercionError("expected a number, got a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text in _FLOAT_SPECIAL:
            return _FLOAT_SPECIAL[text]
        if _DECIMAL.match(text) or _EXPONENT.match(text):
            return float(text)
    raise CoercionError(f"expected a number, got {value!r}")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip() in ("true", "false", "1", "0"):
        return value.strip() in ("true", "1")
    raise CoercionError(f"expected xsd:boolean (true, false, 1 or 0), got {value!r}")


def _parsed(kind: str, parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    def coerce(value: Any) -> Any:
        if not isinstance(value, str):
            raise CoercionError(f"expected xsd:{kind} as an ISO 8601 string, got {value!r}")
        try:
            return parse(value.strip())
        except (ValueError, isodate.ISO8601Error) as exc:
            raise CoercionError(f"expected xsd:{kind} (ISO 8601), got {value!r}") from exc

    return coerce


class XsdDate(date):
    """A date that zeep writes with the four year digits xs:date requires.

    zeep writes dates with `strftime("%Y-%m-%d")`, and the C library writes the year 999
    as `999`, which backends refuse or drop; `isoformat()` always writes `0999-01-01`.
    (zeep writes dateTime values with `isoformat()` already.)
    """

    def strftime(self, format: str) -> str:
        if format == "%Y-%m-%d":
            return self.isoformat()
        return super().strftime(format)


def _date(text: str) -> date:
    if not re.match(r"^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$", text, re.ASCII):
        raise ValueError(text)
    return XsdDate.fromisoformat(text[:10])


def _datetime(text: str) -> datetime:
    if "T" not in text:
        raise ValueError(text)
    return datetime.fromisoformat(text)


def _time(text: str) -> time:
    return time.fromisoformat(text)


def _base64(value: Any) -> bytes:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CoercionError("expected xsd:base64Binary (base64 text)") from exc
    raise CoercionError(f"expected xsd:base64Binary (base64 text), got {value!r}")


def _hex(value: Any) -> str:
    if isinstance(value, str) and re.match(r"^([0-9a-fA-F]{2})*$", value.strip()):
        return value.strip()
    raise CoercionError(f"expected xsd:hexBinary (pairs of hex digits), got {value!r}")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise CoercionError(f"expected text, got {type(value).__name__}")


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "decimal": _decimal,
    "float": _float,
    "double": _float,
    "boolean": _boolean,
    "date": _parsed("date", _date),
    "dateTime": _parsed("dateTime", _datetime),
    "time": _parsed("time", _time),
    "duration": _parsed("duration", isodate.parse_duration),
    "base64Binary": _base64,
    "hexBinary": _hex,
}
