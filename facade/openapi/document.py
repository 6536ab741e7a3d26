"""The OpenAPI 3.1 document of a route table: paths, typed schemas, problem responses,
examples made from the WSDL's types; with a settings file, who may call each route and how
often (facade.openapi.security)."""

from __future__ import annotations

from typing import Any

from facade import __version__
from facade.config.loader import AuthConfig, FacadeConfig
from facade.contracts import COMPONENTS, Contracts, RouteContract
from facade.errors import PROBLEM_TYPE_PREFIX
from facade.guard import Admission, admission_for
from facade.openapi.security import (
    RATE_LIMIT_HEADERS,
    Answer,
    admission_answers,
    operation_security,
    security_schemes,
)
from facade.responses import BACKEND_HEADER, PROBLEM_MEDIA_TYPE
from facade.routetable import CompiledRoute, RouteTable
from facade.soap.samples import Enumerations, sample_type
from facade.translate.response import shape, to_json

PROBLEM = "Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "examples": [f"{PROBLEM_TYPE_PREFIX}backend-timeout"]},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "pointer": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
        "fault": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "subcodes": {"type": "array", "items": {"type": "string"}},
                "detail": {},
            },
        },
    },
    "required": ["type", "title", "status"],
}
_ALWAYS = {
    "400": "A SOAP Client/Sender fault, or a malformed request",
    "422": "A value does not fit the operation's XSD types",
    "502": "The backend failed, faulted, or answered with something that is not SOAP",
    "503": "The backend is failing or busy: calls to it are paused, or its call limit is "
    "full; retry after Retry-After",
    "504": "The backend did not answer in time",
}
_IDEMPOTENT = {
    "409": "A request with this Idempotency-Key is still in progress",
    "422": "A value does not fit the operation's XSD types, or the Idempotency-Key was used "
    "for another request",
}
IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Repeating the request with the same key gives the first answer; the "
    "backend receives it once.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
_WITH_BODY = {
    "413": "The body is too large",
    "415": "The body is not JSON",
}


def openapi_document(
    table: RouteTable,
    contracts: Contracts,
    title: str = "Strangler facade",
    config: FacadeConfig | None = None,
) -> dict[str, Any]:
    """The document; `config` (facade.yaml) adds security schemes, each operation's
    `security` and its 401, 403 and 429 answers. Without one every route is public."""
    config = config or FacadeConfig()
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(table, key=lambda r: (r.mapping.path, r.mapping.method)):
        operation = _operation(route, contracts, config.auth, admission_for(route.mapping, config))
        paths.setdefault(route.mapping.path, {})[route.mapping.method.lower()] = operation
    schemas = dict(sorted(contracts.components.items()))
    schemas[PROBLEM] = PROBLEM_SCHEMA
    components: dict[str, Any] = {"schemas": schemas}
    if config.auth is not None:
        components["securitySchemes"] = security_schemes(config.auth)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": __version__,
            "description": "REST/JSON routes in front of SOAP operations.",
        },
        "paths": paths,
        "components": components,
    }


def _operation(
    route: CompiledRoute, contracts: Contracts, auth: AuthConfig | None, admission: Admission
) -> dict[str, Any]:
    mapping = route.mapping
    contract = contracts.routes[route.name]
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": mapping.summary or f"{route.operation.name} ({mapping.legacy.wsdl})",
        "tags": list(mapping.tags) or [mapping.legacy.wsdl],
        "parameters": contract.parameters
        + ([IDEMPOTENCY_PARAMETER] if mapping.resilience.idempotency else []),
        "responses": _responses(route, contract, contracts, admission_answers(auth, admission)),
    }
    if admission.bucket is not None:
        success = operation["responses"][str(mapping.status)]
        success["headers"] = {**success["headers"], **RATE_LIMIT_HEADERS}
    if auth is not None:
        operation["security"] = operation_security(auth, admission.requirement)
    if mapping.description:
        operation["description"] = mapping.description
    if contract.request_body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": contract.request_body}},
        }
    return operation


def _responses(
    route: CompiledRoute,
    contract: RouteContract,
    contracts: Contracts,
    gate_answers: dict[str, Answer],
) -> dict[str, Any]:
    mapping = route.mapping
    success: dict[str, Any] = {"schema": contract.response}
    example = response_example(route, contracts.enumerations(mapping.legacy.wsdl))
    if example is not None and contract.response_typed:
        success["example"] = example
    responses: dict[str, Any] = {
        str(mapping.status): {
            "description": f"The result of {route.operation.name}",
            "headers": {
                BACKEND_HEADER: {
                    "description": "Which backend served the answer",
                    "schema": {"type": "string", "enum": ["legacy", "new"]},
                }
            },
            "content": {"application/json": success},
        }
    }
    problems = dict(_ALWAYS)
    if contract.request_body is not None:
        problems.update(_WITH_BODY)
    if mapping.resilience.idempotency:
        problems.update(_IDEMPOTENT)
    for name, fault_status in mapping.legacy.faults.items():
        problems[str(fault_status)] = f"SOAP fault {name}"
    answers: dict[str, Answer] = {s: (description, {}) for s, description in problems.items()}
    for status, answer in gate_answers.items():
        answers[status] = _either(answers[status], answer) if status in answers else answer
    for status, (description, headers) in sorted(answers.items()):
        responses[status] = {"description": description}
        if headers:
            responses[status]["headers"] = headers
        responses[status]["content"] = {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": f"{COMPONENTS}{PROBLEM}"}}
        }
    return responses


def _either(first: Answer, second: Answer) -> Answer:
    """One status for two causes (a SOAP fault mapped to 403, and a missing scope): a
    header only one of them sends is not required of the status."""
    headers = {
        name: {**header, "required": False} for name, header in {**first[1], **second[1]}.items()
    }
    return f"{first[0]}; or: {second[0]}", headers


def response_example(route: CompiledRoute, enumerations: Enumerations) -> Any:
    """What the route answers for a sample SOAP result of the operation."""
    output_type = route.operation.output_type
    if output_type is None:
        return None
    sample = sample_type(output_type, enumerations)
    result = to_json(sample, route.mapping.legacy.decimals, output_type)
    return shape(route.response, result)
