"""Hypothesis strategies for JSON near a JSON Schema: values that fit it, and values that
miss it by one member, type, bound or pattern, so a validator is tried on both sides.

    instance = data.draw(near(schema, resolve))   # resolve: "$ref" -> schema
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


def near(schema: Any, resolve: Resolve, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values the schema takes, mixed with near misses (and now and then anything)."""
    if not isinstance(schema, dict):
        return _junk
    if depth > MAX_DEPTH:
        return st.none()
    if "$ref" in schema:
        return near(resolve(schema["$ref"]), resolve, depth + 1)
    options: list[st.SearchStrategy[Any]] = []
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    for key in ("anyOf", "oneOf"):
        options += [near(branch, resolve, depth + 1) for branch in schema.get(key, [])]
    kinds = schema.get("type", [])
    for kind in [kinds] if isinstance(kinds, str) else kinds:
        options.append(_typed(kind, schema, resolve, depth))
    if not options:
        options.append(_junk)
    return st.one_of(*options, _junk) if depth else st.one_of(*options)


def _typed(kind: str, schema: Schema, resolve: Resolve, depth: int) -> st.SearchStrategy[Any]:
    if kind == "object":
        return _object(schema, resolve, depth)
    if kind == "array":
        items = near(schema.get("items", {}), resolve, depth + 1)
        return st.lists(items, max_size=schema.get("maxItems", 2) + 1)
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return _number(schema, st.integers)
    if kind == "number":
        return _number(schema, lambda **k: st.floats(allow_nan=False, allow_infinity=False))
    if kind == "boolean":
        return st.booleans()
    return st.none()


def _object(schema: Schema, resolve: Resolve, depth: int) -> st.SearchStrategy[Any]:
    properties = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in properties]
    members = {name: near(properties[name], resolve, depth + 1) for name in required}
    optional = {
        name: near(sub, resolve, depth + 1)
        for name, sub in properties.items()
        if name not in members
    }
    fitting = st.fixed_dictionaries(members, optional=optional)
    missing = st.fixed_dictionaries({}, optional={**members, **optional})
    extra = st.builds(lambda value: {**value, "Unknown": 1}, fitting)
    return st.one_of(fitting, fitting, missing, extra)


def _string(schema: Schema) -> st.SearchStrategy[str]:
    options: list[st.SearchStrategy[str]] = [
        st.text(max_size=schema.get("maxLength", 8) + 1),
        st.text(st.characters(codec="ascii"), max_size=schema.get("maxLength", 8) + 1),
        st.text("a&<>\r\n\t\"' ]é\x01", max_size=6),  # what XML escapes or refuses
    ]
    pattern = schema.get("pattern")
    if pattern is not None:
        try:
            options.append(st.from_regex(re.compile(pattern)))
        except (re.error, ValueError):
            pass
    if "minLength" in schema:
        options.append(st.just("x" * schema["minLength"]))
    return st.one_of(*options)


def _number(schema: Schema, numbers: Callable[..., st.SearchStrategy[Any]]) -> Any:
    bounds = [
        schema[key]
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        if isinstance(schema.get(key), int | float)
    ]
    edges = [value + step for value in bounds for step in (-1, 0, 1)]
    return st.one_of(numbers(), st.sampled_from(edges)) if edges else numbers()
