"""Response expressions compiled to Python closures, for large answers.

jmespath interprets its syntax tree node by node, dispatching by name for every value: on
a 5,000-record answer the shaping costs about as much as reading the reply. The common
nodes of response expressions (fields, sub-expressions, projections, flatten, indexes,
multi-selects, literals, pipes) are compiled here into closures with the interpreter's
exact rules; an expression with any other node (functions, filters, comparisons, `||`,
slices) keeps the interpreter, whole.

    expression = fast_expression(jmespath.compile("Orders.Order[].{Id: Id}"))
    expression.search(value)        # same answer as jmespath's, sooner
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jmespath.parser import ParsedResult

from facade.translate.expression import node_field_path
from facade.types import JSON

Step = Callable[[JSON], JSON]


class _NotCompiled(Exception):
    """A node this module leaves to the interpreter."""


class CompiledExpression(ParsedResult):  # type: ignore[misc]
    """A parsed expression that searches with its compiled closure."""

    def __init__(self, expression: str, parsed: dict[str, Any], step: Step) -> None:
        super().__init__(expression, parsed)
        self.step = step

    def search(self, value: JSON, options: Any = None) -> JSON:
        if options is not None:
            return super().search(value, options)
        return self.step(value)


def fast_expression(expression: ParsedResult) -> ParsedResult:
    """`expression` compiled when every node of it can be; else unchanged."""
    try:
        step = _compile(expression.parsed)
    except _NotCompiled:
        return expression
    return CompiledExpression(expression.expression, expression.parsed, step)


def _compile(node: dict[str, Any]) -> Step:
    kind = node["type"]
    build = _BUILDERS.get(kind)
    if build is None:
        raise _NotCompiled(kind)
    return build(node)


def _field(node: dict[str, Any]) -> Step:
    name = node["value"]

    def field(value: JSON) -> JSON:
        return value.get(name) if isinstance(value, dict) else None

    return field


def _chain(node: dict[str, Any]) -> Step:
    """subexpression, index_expression and pipe: each child reads the previous result."""
    steps = [_compile(child) for child in node["children"]]

    def chain(value: JSON) -> JSON:
        for step in steps:
            value = step(value)
        return value

    return chain


def _projection(node: dict[str, Any]) -> Step:
    base, each = (_compile(child) for child in node["children"])

    def projection(value: JSON) -> JSON:
        items = base(value)
        if not isinstance(items, list):
            return None
        collected = []
        for item in items:
            current = each(item)
            if current is not None:
                collected.append(current)
        return collected

    return projection


def _value_projection(node: dict[str, Any]) -> Step:
    base, each = (_compile(child) for child in node["children"])

    def value_projection(value: JSON) -> JSON:
        items = base(value)
        if not isinstance(items, dict):
            return None
        collected = []
        for item in items.values():
            current = each(item)
            if current is not None:
                collected.append(current)
        return collected

    return value_projection


def _flatten(node: dict[str, Any]) -> Step:
    base = _compile(node["children"][0])

    def flatten(value: JSON) -> JSON:
        items = base(value)
        if not isinstance(items, list):
            return None
        merged: list[JSON] = []
        for item in items:
            if isinstance(item, list):
                merged.extend(item)
            else:
                merged.append(item)
        return merged

    return flatten


def _identity(node: dict[str, Any]) -> Step:
    return lambda value: value


def _index(node: dict[str, Any]) -> Step:
    position = node["value"]
    if not isinstance(position, int):
        raise _NotCompiled("index")

    def index(value: JSON) -> JSON:
        if not isinstance(value, list):
            return None
        try:
            return value[position]
        except IndexError:
            return None

    return index


def _literal(node: dict[str, Any]) -> Step:
    constant = node["value"]
    return lambda value: constant


def _multi_select_dict(node: dict[str, Any]) -> Step:
    pairs = []
    for pair in node["children"]:
        if pair["type"] != "key_val_pair":
            raise _NotCompiled(pair["type"])
        pairs.append((pair["value"], pair["children"][0]))
    paths = [(key, node_field_path(child)) for key, child in pairs]
    if all(names is not None for _, names in paths):
        return _select_paths([(key, names) for key, names in paths if names is not None])
    return _select_steps([(key, _compile(child)) for key, child in pairs])


def _select_paths(paths: list[tuple[str, tuple[str, ...]]]) -> Step:
    """A multi-select of field paths only (`{Id: Id, Lines: Lines.Line}`), without a call
    per member: the usual shape of a record."""

    def multi_select_paths(value: JSON) -> JSON:
        if value is None:
            return None
        collected = {}
        for key, names in paths:
            current = value
            for name in names:
                current = current.get(name) if isinstance(current, dict) else None
            collected[key] = current
        return collected

    return multi_select_paths


def _select_steps(pairs: list[tuple[str, Step]]) -> Step:

    def multi_select_dict(value: JSON) -> JSON:
        if value is None:
            return None
        return {key: step(value) for key, step in pairs}

    return multi_select_dict


def _multi_select_list(node: dict[str, Any]) -> Step:
    steps = [_compile(child) for child in node["children"]]

    def multi_select_list(value: JSON) -> JSON:
        if value is None:
            return None
        return [step(value) for step in steps]

    return multi_select_list


_BUILDERS: dict[str, Callable[[dict[str, Any]], Step]] = {
    "field": _field,
    "subexpression": _chain,
    "index_expression": _chain,
    "pipe": _chain,
    "projection": _projection,
    "value_projection": _value_projection,
    "flatten": _flatten,
    "identity": _identity,
    "current": _identity,
    "index": _index,
    "literal": _literal,
    "multi_select_dict": _multi_select_dict,
    "multi_select_list": _multi_select_list,
}
