"""JSON Schemas for every route: its SOAP input and output, the request body and parameters
clients send, and the response they get after the mapping's shaping.

Schemas come from the XSD through `soap.jsonschema`, one builder per WSDL; named types become
shared components called `<wsdl stem>.<type name>`, so two WSDLs may both have a `Customer`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from facade.contracts.expressions import Schema, infer
from facade.paths import path_parameters
from facade.soap.facets import FacetIndex
from facade.soap.jsonschema import SchemaBuilder
from facade.soap.registry import WsdlRegistry
from facade.translate.expression import field_path

if TYPE_CHECKING:  # the route table compiles contracts, so it cannot be imported here
    from facade.routetable import CompiledRoute

COMPONENTS = "#/components/schemas/"
UNTYPED_RESPONSE = (
    "Shaped by a JMESPath expression whose result type cannot be derived from the WSDL."
)


@dataclass(frozen=True)
class RouteContract:
    """What one route takes and gives, as JSON Schemas referring to shared components."""

    input: Schema
    """The operation's arguments: one property per argument."""
    output: Schema
    """The SOAP result as JSON, before the response expression."""
    response: Schema
    """What clients get: `output` shaped by the response expression."""
    response_typed: bool
    parameters: list[dict[str, Any]]
    request_body: Schema | None


@dataclass
class Contracts:
    """The contract of every route of a table, and the components they share."""

    routes: dict[str, RouteContract] = field(default_factory=dict)
    components: dict[str, Schema] = field(default_factory=dict)
    facets: dict[str, FacetIndex] = field(default_factory=dict)
    """The restriction facets of each WSDL, by its name in the mappings."""

    def enumerations(self, wsdl: str) -> Callable[[object], tuple[str, ...]]:
        """The enumeration values of a simple type of `wsdl` (for sample values)."""
        index = self.facets[wsdl]
        return lambda xsd_type: index.for_type(xsd_type).enumeration

    def resolve(self, schema: Schema) -> Schema:
        return self.components[schema["$ref"].removeprefix(COMPONENTS)]


def build_contracts(table: Iterable[CompiledRoute], registry: WsdlRegistry) -> Contracts:
    """Schemas for every route. Components are complete before any expression is typed,
    because typing follows `$ref`s into them."""
    builders: dict[str, SchemaBuilder] = {}
    contracts = Contracts()
    messages: list[tuple[CompiledRoute, Schema, Schema]] = []
    for route in table:
        wsdl = route.mapping.legacy.wsdl
        if wsdl not in builders:
            loaded = registry.get(wsdl)
            prefix = f"{COMPONENTS}{_component_prefix(wsdl)}."
            contracts.facets[wsdl] = FacetIndex.from_documents(loaded.documents)
            builders[wsdl] = SchemaBuilder(contracts.facets[wsdl], prefix)
        operation = route.operation.zeep_operation
        output_body = operation.output.body if operation.output is not None else None
        builder = builders[wsdl]
        messages.append(
            (route, builder.message(operation.input.body), builder.message(output_body))
        )
    for wsdl, builder in builders.items():
        prefix = _component_prefix(wsdl)
        for name, schema in builder.defs.items():
            contracts.components[f"{prefix}.{name}"] = schema
    for route, input_schema, output_schema in messages:
        contracts.routes[route.name] = _contract(route, input_schema, output_schema, contracts)
    return contracts


def _contract(
    route: CompiledRoute, input_schema: Schema, output_schema: Schema, contracts: Contracts
) -> RouteContract:
    response: Schema | None = output_schema
    if route.response is not None:
        response = infer(route.response.parsed, output_schema, contracts.resolve)
    return RouteContract(
        input=input_schema,
        output=output_schema,
        response=response if response is not None else {"description": UNTYPED_RESPONSE},
        response_typed=response is not None,
        parameters=_parameters(route, input_schema),
        request_body=_request_body(route, input_schema),
    )


def _argument_schema(input_schema: Schema, name: str) -> Schema:
    return dict(input_schema.get("properties", {}).get(name, {}))


def _parameters(route: CompiledRoute, input_schema: Schema) -> list[dict[str, Any]]:
    by_path = {
        path: source
        for source in route.arguments
        if (path := field_path(source.expression)) is not None
    }
    parameters = []
    for name in path_parameters(route.mapping.path):
        source = by_path.get(("path", name))
        schema = _without_null(_argument_schema(input_schema, source.name)) if source else {}
        parameters.append(
            {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}
        )
    for path, source in by_path.items():
        if len(path) != 2 or path[0] != "query":
            continue
        rest = path[1]
        required = source.name in input_schema.get("required", [])
        schema = _argument_schema(input_schema, source.name)
        parameters.append(
            {
                "name": rest,
                "in": "query",
                "required": required,
                "schema": _without_null(schema) or {"type": "string"},
            }
        )
    return parameters


def _request_body(route: CompiledRoute, input_schema: Schema) -> Schema | None:
    """The body's schema, from the arguments whose expressions read `body` or `body.a.b`."""
    body: Schema | None = None
    required_args = set(input_schema.get("required", []))
    for source in route.arguments:
        text = source.expression.expression
        schema = _argument_schema(input_schema, source.name) or {}
        required = source.name in required_args
        path = field_path(source.expression)
        if path == ("body",):
            body = _without_null(schema) if required else schema
        elif path is not None and path[0] == "body":
            schema = _without_null(schema) if required else schema
            body = _place(body, list(path[1:]), schema, required)
        elif "body" in text:
            return {"description": "Read by JMESPath expressions that cannot be typed."}
    return body


def _place(body: Schema | None, path: list[str], schema: Schema, required: bool) -> Schema:
    """Put `schema` at `path` inside an object schema, creating objects on the way."""
    body = body if body is not None and body.get("type") == "object" else {"type": "object"}
    name, rest = path[0], path[1:]
    properties = body.setdefault("properties", {})
    properties[name] = _place(properties.get(name), rest, schema, required) if rest else schema
    if required and name not in body.get("required", []):
        body["required"] = [*body.get("required", []), name]
    return body


def _without_null(schema: Schema) -> Schema:
    branches = schema.get("anyOf")
    if branches and set(schema) == {"anyOf"}:
        kept = [b for b in branches if b.get("type") != "null"]
        return kept[0] if len(kept) == 1 else {"anyOf": kept}
    return schema


def _component_prefix(wsdl: str) -> str:
    stem = wsdl.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "wsdl"
