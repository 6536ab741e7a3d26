"""JSON request -> SOAP operation arguments.

Each argument's JMESPath expression is evaluated over `{path, query, headers, body}`; the
value is then walked along the argument's XSD type, coercing strings to the simple types
they stand for and refusing fields the schema does not have. Every problem is reported at
once, each with the place the client can fix.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from zeep.xsd import All, AnySimpleType, ComplexType, Element, ListType, Sequence, UnionType
from zeep.xsd.const import Nil

from facade.errors import FieldProblem, InvalidRequest
from facade.soap.zeep_private import SIMPLE_CONTENT_KEY, nested_particles
from facade.translate.coerce import CoercionError, coerce_simple
from facade.translate.expression import SharedInterpreter, field_path
from facade.translate.validate import ArgumentValidator
from facade.xsdtypes import builtin_name


@dataclass(frozen=True)
class ArgumentSource:
    """Where one operation argument comes from in the client's request."""

    name: str
    expression: ParsedResult
    element: Element

    @cached_property
    def field(self) -> str:
        """The client-side place to name in errors: `path.id`, or the argument's name
        (read for every request: worked out once)."""
        path = field_path(self.expression)
        return ".".join(path) if path is not None else self.name

    @cached_property
    def reads_body(self) -> bool:
        """True when the argument is a plain path into the JSON body (`body`, `body.a.b`):
        its value already has JSON types, which the contract checks as they are."""
        path = field_path(self.expression)
        return path is not None and path[0] == "body"


def compile_expression(text: str) -> ParsedResult:
    """Compile a JMESPath expression (raises jmespath.exceptions.ParseError)."""
    parsed = jmespath.compile(text)
    return SharedInterpreter(parsed.expression, parsed.parsed)


def build_arguments(
    sources: tuple[ArgumentSource, ...],
    context: Mapping[str, Any],
    validator: ArgumentValidator | None = None,
) -> dict[str, Any]:
    """The keyword arguments of the SOAP call, or InvalidRequest naming every bad field.

    Strings from the path, the query and headers are coerced to their XSD types; values
    from the JSON body must already have the JSON type the contract documents (`"Name": 123`
    for a string is refused, not turned into "123"). The contract (enumerations, patterns,
    lengths, ranges, unknown members) is then checked, and the problems of both steps are
    reported together, each place once.

    In a body, an absent member is left out of the SOAP request; `null` goes out as
    xsi:nil where the XSD element is nillable, and is taken as absent where it is optional.
    """
    walker = _Walker()
    arguments: dict[str, Any] = {}
    as_sent: dict[str, Any] = {}
    for source in sources:
        try:
            value = source.expression.search(context)
        except JMESPathError as exc:  # `length(body.ids)` when ids is a number
            message = str(exc).splitlines()[0][:200]
            walker.problem(source.field, f"does not fit the route's expression: {message}")
            continue
        if value is None:
            if source.element.min_occurs and not source.element.nillable:
                walker.problem(source.field, f"is required ({source.name})")
            continue
        arguments[source.name] = walker.element(value, source.element, source.field)
        if source.reads_body:
            as_sent[source.name] = value
    problems = walker.problems
    if validator is not None:
        problems += _schema_problems(validator, sources, {**arguments, **as_sent}, problems)
    if problems:
        raise InvalidRequest(problems)
    return arguments


def _schema_problems(
    validator: ArgumentValidator,
    sources: tuple[ArgumentSource, ...],
    arguments: dict[str, Any],
    known: list[FieldProblem],
) -> list[FieldProblem]:
    """What the XSD-derived schema finds in the arguments that coerced cleanly, leaving out
    places already reported (a missing body is one problem, not two)."""

    def reported(field: str) -> bool:
        return any(
            p.field == field or p.field.startswith((field + ".", field + "[")) for p in known
        )

    fields = {source.name: source.field for source in sources}
    clean = {name: value for name, value in arguments.items() if not reported(fields[name])}
    for source in sources:  # absent nillable arguments go out as xsi:nil
        if source.element.nillable and source.name not in arguments:
            clean[source.name] = None
    return [
        p
        for p in validator.problems(clean, fields)
        if not reported(p.field)
        and not any(
            p.field.startswith(fields[name]) for name in arguments if reported(fields[name])
        )
    ]


class _Walker:
    """Walks a JSON value along a zeep type, collecting problems instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def problem(self, field: str, message: str) -> None:
        self.problems.append(FieldProblem(field, message))

    def element(self, value: Any, element: Element, field: str) -> Any:
        if element.max_occurs != 1:
            items = value if isinstance(value, list) else [value]
            limit = element.max_occurs
            if isinstance(limit, int) and len(items) > limit:
                self.problem(field, f"has {len(items)} items; at most {limit} are allowed")
            return [self.value(item, element, f"{field}[{i}]") for i, item in enumerate(items)]
        if isinstance(value, list) and not isinstance(element.type, ListType):
            self.problem(field, "expected one value, got a list")
            return None
        return self.value(value, element, field)

    def value(self, value: Any, element: Element, field: str) -> Any:
        if value is None:
            if not element.nillable:
                self.problem(field, "must not be null")
                return None
            return Nil
        return self.typed(value, element.type, field)

    def typed(self, value: Any, xsd_type: Any, field: str) -> Any:
        if isinstance(xsd_type, ComplexType):
            if _is_simple_content(xsd_type) and not isinstance(value, dict):
                value = {SIMPLE_CONTENT_KEY: value}  # the value alone, without attributes
            return self.complex(value, xsd_type, field)
        if isinstance(xsd_type, ListType):
            items = value.split() if isinstance(value, str) else value
            if not isinstance(items, list):
                self.problem(field, "expected a list of values")
                return None
            return [self.typed(v, xsd_type.item_type, f"{field}[{i}]") for i, v in enumerate(items)]
        if isinstance(xsd_type, UnionType):
            return self.union(value, xsd_type, field)
        if isinstance(xsd_type, AnySimpleType):
            return self.simple(value, xsd_type, field)
        return value  # xsd:anyType: zeep decides what it can write

    def simple(self, value: Any, xsd_type: Any, field: str) -> Any:
        try:
            return coerce_simple(value, builtin_name(xsd_type))
        except CoercionError as exc:
            self.problem(field, str(exc))
            return None

    def union(self, value: Any, xsd_type: UnionType, field: str) -> Any:
        for member in xsd_type.item_types:
            try:
                return coerce_simple(value, builtin_name(member))
            except CoercionError:
                continue
        self.problem(field, f"does not fit any member of the union type, got {value!r}")
        return None

    def complex(self, value: Any, xsd_type: ComplexType, field: str) -> Any:
        if not isinstance(value, dict):
            self.problem(field, f"expected an object, got {_json_kind(value)}")
            return None
        children = dict(xsd_type.elements)
        attributes = dict(xsd_type.attributes)
        result: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{field}.{key}"
            if key in children:
                if item is not None:
                    result[key] = self.element(item, children[key], where)
                elif children[key].nillable:
                    result[key] = Nil  # zeep leaves out a None it may omit; Nil is xsi:nil
            elif key in attributes:
                result[key] = self.typed(item, attributes[key].type, where)
            else:
                known = ", ".join([*children, *attributes]) or "none"
                self.problem(where, f"is not a field of this object (known fields: {known})")
        for name in _required_children(xsd_type):
            if value.get(name) is None:
                self.problem(f"{field}.{name}", "is required")
        return result


def _is_simple_content(xsd_type: ComplexType) -> bool:
    """zeep models simple content (a value with attributes) as one child named `_value_1`."""
    elements = xsd_type.elements
    return (
        len(elements) == 1
        and elements[0][0] == SIMPLE_CONTENT_KEY
        and isinstance(elements[0][1].type, AnySimpleType)
    )


def _required_children(xsd_type: ComplexType) -> list[str]:
    """Children a value must carry; members of choices and groups are left to zeep."""
    return list(_required_in(nested_particles(xsd_type)))


def _required_in(particles: list[tuple[str | None, Any]]) -> Iterator[str]:
    # zeep nests a type's elements in its particles: ("_value_1", Sequence([...]))
    for name, child in particles:
        if isinstance(child, Element) and name is not None:
            if child.min_occurs and not child.nillable:
                yield name
        elif isinstance(child, Sequence | All) and child.min_occurs and not child.accepts_multiple:
            yield from _required_in(nested_particles(child))


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
