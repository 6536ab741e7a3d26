"""JMESPath expressions that name one place: `path.id`, `body.customer.name`, `body`.

Checks, error messages and the OpenAPI document treat such an expression as the place a
value comes from; anything else (literals, functions, projections, `||`) is computed.
The rule is read from the parsed expression, so quoted names count as names:
`headers."x-user-id"` is the field path ('headers', 'x-user-id').
"""

from __future__ import annotations

from typing import Any

from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter


def field_path(expression: ParsedResult) -> tuple[str, ...] | None:
    """The names of a plain field path, outermost first; None for any other expression."""
    return node_field_path(expression.parsed)


def node_field_path(node: dict[str, Any]) -> tuple[str, ...] | None:
    """`field_path` of a node of the parsed tree (a sub-expression of a larger one)."""
    if node["type"] == "field":
        return (node["value"],)
    if node["type"] != "subexpression":
        return None
    names: tuple[str, ...] = ()
    for child in node["children"]:
        found = node_field_path(child)
        if found is None:
            return None
        names += found
    return names


class SharedInterpreter(ParsedResult):  # type: ignore[misc]
    """A parsed expression searched by one interpreter shared by all searches.

    jmespath makes an interpreter for every search, and its method cache holds the
    interpreter's own bound methods: a reference cycle, left for the garbage collector,
    for every argument of every request. The interpreter keeps no state of a search (only
    that cache, the same for all), so one serves every search with the same answers.
    """

    def search(self, value: Any, options: Any = None) -> Any:
        if options is not None:
            return super().search(value, options)
        return _INTERPRETER.visit(self.parsed, value)


_INTERPRETER = TreeInterpreter()
