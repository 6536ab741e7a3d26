"""Hypothesis strategies for JSON near a JSON Schema: values that fit it, and values that
miss it by one member, type, bound or pattern, so a validator is tried on both sides and a
writer gets requests the facade accepts.

    instance = data.draw(near(schema, resolve))   # resolve: "$ref" -> schema

Half of the values are drawn to fit (every member of the right type, within its bounds,
matching its pattern), half with near misses and now and then anything at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC
from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any]
Resolve = Callable[[str], Schema]
MAX_DEPTH = 4

_junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.just([]),
    st.just({}),
)
_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date": st.dates().map(lambda d: d.isoformat()),
    "date-time": st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    "time": st.times().map(lambda t: t.isoformat()),
}


def near(schema: Any, resolve: Resolve) -> st.SearchStrategy[Any]:
    """Values the schema takes, or (as often) near misses of it."""
    return st.booleans().flatmap(lambda exact: _near(schema, resolve, 0, exact))


def _near(schema: Any, resolve: Resolve, depth: int, exact: bool) -> st.SearchStrategy[Any]:
    if not isinstance(schema, dict):
        return _junk
    if depth > MAX_DEPTH:
        return st.none()
    if "$ref" in schema:
        return _near(resolve(schema["$ref"]), resolve, depth + 1, exact)
    options: list[st.SearchStrategy[Any]] = []
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        options += [_near(branch, resolve, depth + 1, exact) for branch in schema.get(key, [])]
    kinds = schema.get("type", [])
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        options.append(_typed(kind, schema, resolve, depth, exact))
    if not options:
        options.append(_junk)
    if exact or not depth:
        return st.one_of(*options)
    return st.one_of(*options, _junk)


def _typed(
    kind: str, schema: Schema, resolve: Resolve, depth: int, exact: bool
) -> st.SearchStrategy[Any]:
    if kind == "object":
        return _object(schema, resolve, depth, exact)
    if kind == "array":
        items = _near(schema.get("items", {}), resolve, depth + 1, exact)
        most = schema.get("maxItems", 2)
        return st.lists(items, min_size=schema.get("minItems", 0) if exact else 0, max_size=most)
    if kind == "string":
        return _string(schema, exact)
    if kind == "integer":
        return _number(schema, st.integers, exact)
    if kind == "number":
        return _number(
            schema, lambda **k: st.floats(allow_nan=False, allow_infinity=False, **k), exact
        )
    if kind == "boolean":
        return st.booleans()
    return st.none()


def _object(schema: Schema, resolve: Resolve, depth: int, exact: bool) -> Any:
    properties = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in properties]
    members = {name: _near(properties[name], resolve, depth + 1, exact) for name in required}
    optional = {
        name: _near(sub, resolve, depth + 1, exact)
        for name, sub in properties.items()
        if name not in members
    }
    fitting = st.fixed_dictionaries(members, optional=optional)
    if exact:
        return fitting
    missing = st.fixed_dictionaries({}, optional={**members, **optional})
    extra = st.builds(lambda value: {**value, "Unknown": 1}, fitting)
    return st.one_of(fitting, missing, extra)


def _string(schema: Schema, exact: bool) -> st.SearchStrategy[str]:
    size = schema.get("maxLength", 8)
    pattern = schema.get("pattern")
    fitting: list[st.SearchStrategy[str]] = []
    if schema.get("format") in _FORMATS:
        fitting.append(_FORMATS[schema["format"]])
    if pattern is not None:
        try:
            fitting.append(st.from_regex(re.compile(pattern)))
        except (re.error, ValueError):
            pass
    if exact and fitting:
        return st.one_of(*fitting)
    return st.one_of(
        *fitting,
        st.text(max_size=size + 1),
        st.text(st.characters(codec="ascii"), max_size=size + 1),
        st.text("a&<>\r\n\t\"' ]é\x01", max_size=6),  # what XML escapes or refuses
    )


def _number(
    schema: Schema, numbers: Callable[..., st.SearchStrategy[Any]], exact: bool
) -> st.SearchStrategy[Any]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if exact:
        return numbers(min_value=low, max_value=high)
    bounds = [value for value in (low, high) if isinstance(value, int | float)]
    edges = [value + step for value in bounds for step in (-1, 0, 1)]
    return st.one_of(numbers(), st.sampled_from(edges)) if edges else numbers()
