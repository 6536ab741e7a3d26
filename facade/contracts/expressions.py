"""The JSON Schema of what a JMESPath expression selects from a value of a known schema.

Fields, sub-expressions, multi-select hashes, lists, projections, flattens and indexes are
followed through the schema; anything else (functions, filters, pipes, comparisons) cannot be
typed here, and `infer` answers None so the caller can say so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Schema = dict[str, Any]
Resolve = Callable[[Schema], Schema]
"""Follows a `$ref` to the schema it names."""


def infer(node: dict[str, Any], schema: Schema, resolve: Resolve) -> Schema | None:
    """Schema of `node` (a parsed JMESPath AST) applied to a value of `schema`."""
    kind = node["type"]
    children = node.get("children", [])
    if kind in ("current", "identity"):
        return schema
    if kind == "field":
        return _property(schema, node["value"], resolve)
    if kind == "subexpression":
        current: Schema | None = schema
        for child in children:
            current = infer(child, current, resolve) if current is not None else None
        return current
    if kind == "multi_select_dict":
        return _multi_select_dict(children, schema, resolve)
    if kind == "multi_select_list":
        members = [infer(child, schema, resolve) for child in children]
        if any(member is None for member in members):
            return None
        return {"type": "array", "prefixItems": members, "items": False}
    if kind == "projection":
        return _projection(children, schema, resolve)
    if kind == "flatten":
        return _flatten(infer(children[0], schema, resolve), resolve)
    if kind == "index_expression":
        array = infer(children[0], schema, resolve)
        items = _items(array, resolve) if array is not None else None
        return _nullable(items) if items is not None else None
    return None


def _multi_select_dict(
    children: list[dict[str, Any]], schema: Schema, resolve: Resolve
) -> Schema | None:
    properties = {}
    for pair in children:
        value = infer(pair["children"][0], schema, resolve)
        if value is None:
            return None
        properties[pair["value"]] = value
    return {"type": "object", "properties": properties, "required": list(properties)}


def _projection(children: list[dict[str, Any]], schema: Schema, resolve: Resolve) -> Schema | None:
    left, right = children
    array = infer(left, schema, resolve)
    items = _items(array, resolve) if array is not None else None
    if items is None:
        return None
    projected = infer(right, items, resolve)
    # a projection drops the items whose result is null
    return None if projected is None else {"type": "array", "items": _not_null(projected)}


def _flatten(schema: Schema | None, resolve: Resolve) -> Schema | None:
    items = _items(schema, resolve) if schema is not None else None
    if items is None:
        return None
    inner = _items(items, resolve)
    return {"type": "array", "items": inner if inner is not None else items}


def _property(schema: Schema, name: str, resolve: Resolve) -> Schema | None:
    """The schema of `name` in an object schema; null when the value may be null."""
    nullable = False
    for branch in _branches(schema, resolve):
        if branch.get("type") == "null":
            nullable = True
            continue
        properties = branch.get("properties", {})
        if name in properties:
            found = properties[name]
            optional = name not in branch.get("required", [])
            return _nullable(found) if nullable or optional else found
    return None


def _items(schema: Schema | None, resolve: Resolve) -> Schema | None:
    for branch in _branches(schema or {}, resolve):
        if branch.get("type") == "array" and isinstance(branch.get("items"), dict):
            return branch["items"]
    return None


def _branches(schema: Schema, resolve: Resolve) -> list[Schema]:
    """The alternatives a value of `schema` may take, `$ref`s followed."""
    if "$ref" in schema:
        return _branches(resolve(schema), resolve)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return [b for s in schema[key] for b in _branches(s, resolve)]
    return [schema]


def _nullable(schema: Schema) -> Schema:
    if schema.get("type") == "null" or any(
        b.get("type") == "null" for b in schema.get("anyOf", [])
    ):
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _not_null(schema: Schema) -> Schema:
    branches = [b for b in schema.get("anyOf", []) if b.get("type") != "null"]
    return branches[0] if len(branches) == 1 and set(schema) == {"anyOf"} else schema
