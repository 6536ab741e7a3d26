"""Sample values for an XSD type: what a mock answers with when it has no handler, and the
examples of the API docs.

Samples are small and deterministic: every element once (a repeated one as a list of one),
optional ones included so the shape shows, the first branch of a choice, the first value
of an enumeration, recursion cut at a fixed depth.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from zeep.xsd import (
    AnySimpleType,
    Choice,
    ComplexType,
    Element,
    ListType,
    UnionType,
)

from facade.soap.zeep_private import nested_particles
from facade.xsdtypes import INTEGER_RANGES, builtin_name

MAX_DEPTH = 6
"""Nesting below which optional children are left out, so recursive types end."""

Enumerations = Callable[[Any], tuple[str, ...]]

_SIMPLE: dict[str, Any] = {
    "boolean": True,
    "decimal": Decimal("12.50"),
    "float": 1.5,
    "double": 1.5,
    "date": date(2024, 1, 31),
    "dateTime": datetime(2024, 1, 31, 12, 0, tzinfo=UTC),
    "time": time(12, 0),
    "duration": "P1D",
    "base64Binary": b"example",
    "hexBinary": "CAFE",
    "anyURI": "http://example.com/",
    "gYear": "2024",
    "gYearMonth": "2024-01",
    "gMonth": "--01",
    "gDay": "---31",
    "gMonthDay": "--01-31",
}


def sample_element(
    element: Element, enumerations: Enumerations | None = None, depth: int = 0
) -> Any:
    """A value for `element`, a list of one when it repeats."""
    value = sample_type(element.type, enumerations, depth)
    return [value] if element.max_occurs != 1 else value


def sample_type(xsd_type: Any, enumerations: Enumerations | None = None, depth: int = 0) -> Any:
    if isinstance(xsd_type, ComplexType):
        return _complex(xsd_type, enumerations, depth)
    if isinstance(xsd_type, ListType):
        return [sample_type(xsd_type.item_type, enumerations, depth)]
    if isinstance(xsd_type, UnionType):
        return sample_type(xsd_type.item_types[0], enumerations, depth)
    if isinstance(xsd_type, AnySimpleType):
        allowed = enumerations(xsd_type) if enumerations else ()
        return allowed[0] if allowed else _simple(builtin_name(xsd_type))
    return "example"  # xsd:anyType


def _simple(base: str) -> Any:
    if base in INTEGER_RANGES:
        _, high = INTEGER_RANGES[base]
        return 1 if high is None or high >= 1 else high
    return _SIMPLE.get(base, "example")


def _complex(xsd_type: ComplexType, enumerations: Enumerations | None, depth: int) -> Any:
    result: dict[str, Any] = {}
    for name, element in _chosen_elements(xsd_type):
        if depth >= MAX_DEPTH and not element.min_occurs:
            continue
        if depth >= MAX_DEPTH * 2:
            break  # a required recursion with no end: the sample stops here
        result[name] = sample_element(element, enumerations, depth + 1)
    for name, attribute in xsd_type.attributes:
        if getattr(attribute, "type", None) is not None:
            result[name] = sample_type(attribute.type, enumerations, depth + 1)
    return result


def _chosen_elements(xsd_type: ComplexType) -> list[tuple[str, Element]]:
    """Children to fill: every element, but only the first branch of each choice."""
    chosen: list[tuple[str, Element]] = []
    for name, item in nested_particles(xsd_type):
        if isinstance(item, Element):
            if not getattr(item, "is_any", False) and name:
                chosen.append((name, item))
        elif isinstance(item, Choice):
            first = item[0] if len(item) else None
            if isinstance(first, Element):
                chosen.append((first.attr_name, first))
            elif first is not None:
                chosen.extend(first.elements)
        else:
            chosen.extend(item.elements)
    return [(n, e) for n, e in chosen if type(e).__name__ != "Any"]
