"""SOAP result (zeep values) -> JSON with the XSD's types kept, then JMESPath shaping.

The rules, which the JSON Schemas of the API promise:
- an element with maxOccurs > 1 is always an array, even with zero or one item;
- zeep reads an empty complex element (`<Customers/>`) as None; when its type is a list
  wrapper (its one child element repeats, the .NET `ArrayOfX` shape) it becomes
  `{"Customer": []}`, so that a search with no hits still answers with an array;
- xsd:decimal is a JSON string ("1234.50", no float rounding of money) unless the mapping
  asks for numbers;
- date, dateTime, time and duration are ISO 8601 strings; binary is base64 text;
- an integer beyond 64 bits is its digits (as the schema of xs:integer allows); one out of
  its XSD type's range is a reply that does not match the WSDL (a 502);
- nil and absent optional elements are null; INF and NaN floats are the strings XSD uses;
- an empty text or binary element (`<Name></Name>`), which zeep reads as None, is "" where it cannot
  be absent: a required, non-nillable element, or an item of a repeated one;
- XML without a schema (xsd:any) becomes objects by xmltodict's rules, namespaces dropped.
"""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal

import isodate
import orjson
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from lxml import etree
from zeep.xsd import AnySimpleType, ComplexType, ListType, UnionType
from zeep.xsd.const import Nil

from facade.errors import BackendUnexpectedResponse, ResponseExpressionFailed
from facade.soap.zeep_private import RAW_ELEMENTS_KEY, compound_items, compound_type, is_compound
from facade.translate.xml import element_to_json
from facade.types import JSON
from facade.xsdtypes import INTEGER_RANGES, TEXT_TYPES, builtin_name

DecimalStyle = Literal["string", "number"]


def to_json(value: Any, decimals: DecimalStyle = "string", xsd_type: Any = None) -> JSON:
    """A zeep result as JSON values; `xsd_type` is the value's type when it may be None."""
    if value is None or value is Nil:  # Nil: a request argument that goes out as xsi:nil
        return _empty(xsd_type)
    if isinstance(value, int) and not isinstance(value, bool):
        return _integer(value, xsd_type)
    if isinstance(value, bool | str):
        return value
    if is_compound(value):
        return _compound(value, decimals)
    if isinstance(value, tuple) and isinstance(xsd_type, AnySimpleType):
        return str(xsd_type.xmlvalue(value))  # gYear and friends: zeep reads them as tuples
    if isinstance(value, list | tuple):
        return [to_json(item, decimals) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item, decimals) for key, item in value.items()}
    if isinstance(value, Decimal):
        return _decimal(value, decimals)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta | isodate.Duration):
        return isodate.duration_isoformat(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, etree._Element):
        return element_to_json(value)
    return str(value)  # QName, gYear and other lexical values


ENCODABLE_INTEGERS = (-(2**63), 2**64 - 1)
"""The integers a JSON answer carries as numbers (orjson's range); others go as digits,
which the documented schema of the unbounded XSD integer types allows."""


def _integer(value: int, xsd_type: Any) -> JSON:
    return bounded_integer(value, *integer_range(xsd_type))


def integer_range(xsd_type: Any) -> tuple[int | None, int | None]:
    """The lowest and highest value of an XSD integer type (None: unbounded)."""
    return INTEGER_RANGES.get(builtin_name(xsd_type), (None, None))


def bounded_integer(value: int, low: int | None, high: int | None) -> JSON:
    """The integer, or its digits beyond 64 bits; a value outside its XSD type's range
    (`<Id>99999999999</Id>` for an xs:int) is a reply that does not match the WSDL."""
    if (low is not None and value < low) or (high is not None and value > high):
        raise BackendUnexpectedResponse()
    if not ENCODABLE_INTEGERS[0] <= value <= ENCODABLE_INTEGERS[1]:
        return str(value)
    return value


def _compound(value: Any, decimals: DecimalStyle) -> dict[str, JSON]:
    elements = dict(getattr(compound_type(value), "elements", ()))
    result: dict[str, JSON] = {}
    for key, item in compound_items(value):
        if key == RAW_ELEMENTS_KEY:
            continue  # elements the WSDL does not declare: skipped, never str()-ed
        element = elements.get(key)
        if element is None:
            result[key] = to_json(item, decimals)
        elif element.max_occurs != 1:
            items = [] if item is None else item if isinstance(item, list) else [item]
            present = [_empty_text(i, element, required=True) for i in items]
            result[key] = [to_json(i, decimals, element.type) for i in present]
        else:
            item = _empty_text(item, element, required=element.min_occurs >= 1)
            result[key] = to_json(item, decimals, element.type)
    return result


def _empty_text(item: Any, element: Any, *, required: bool) -> Any:
    """The empty string for an element zeep read as None that was there but empty: present
    for sure (required, or an item of a list), of a text type, and not nil. A required
    simple value of another type that is None (`<Id></Id>`, or left out) breaks the WSDL:
    the answer would hold a null where the documented schema promises a value."""
    if item is not None or not required or element.nillable:
        return item
    xsd_type = element.type
    if isinstance(xsd_type, ListType | UnionType) or not isinstance(xsd_type, AnySimpleType):
        return item
    if builtin_name(xsd_type) in TEXT_TYPES:
        return ""
    raise BackendUnexpectedResponse()


def _empty(xsd_type: Any) -> JSON:
    """None, or `{child: []}` for an empty list wrapper."""
    if isinstance(xsd_type, ComplexType):
        elements = xsd_type.elements
        if len(elements) == 1 and elements[0][1].max_occurs != 1 and not xsd_type.attributes:
            return {elements[0][0]: []}
    return None


def encode_json(value: JSON) -> bytes:
    """The one JSON encoding of answers (orjson: compact UTF-8, no NaN)."""
    return orjson.dumps(value)


def shape(expression: ParsedResult | None, result: JSON) -> JSON:
    """The mapping's response expression applied to the result; none keeps it whole.

    An expression can fail on an answer it was not written for (`length(a)` on a number):
    that is the backend's answer breaking the route, a 502, never a 500."""
    if expression is None:
        return result
    try:
        return expression.search(result)
    except JMESPathError as exc:
        raise ResponseExpressionFailed() from exc


def _decimal(value: Decimal, style: DecimalStyle) -> JSON:
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("INF" if value > 0 else "-INF")
    if style == "number":
        return (
            int(value)
            if value == value.to_integral_value() and "." not in str(value)
            else float(value)
        )
    return format(value, "f")  # str() would write 1E-7 for 0.0000001


def _float(value: float) -> JSON:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return value
