"""The OpenAPI document: valid 3.1, typed from the WSDL, examples that fit their schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from servers import serve_in_thread

from facade.app import create_app
from facade.contracts import UNTYPED_RESPONSE, build_contracts
from facade.mapping.loader import load_mappings, read_mapping
from facade.openapi.document import openapi_document
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(ROOT / "mappings", {}), registry)
    return openapi_document(table, build_contracts(table, registry))


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": document["components"]})


def test_demo_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_is_typed(document: dict[str, Any]) -> None:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            success = next(v for k, v in operation["responses"].items() if k.startswith("2"))
            schema = success["content"]["application/json"]["schema"]
            assert schema.get("description") != UNTYPED_RESPONSE, f"{method} {path}"


def test_examples_fit_their_schemas(document: dict[str, Any]) -> None:
    checked = 0
    for methods in document["paths"].values():
        for operation in methods.values():
            for response in operation["responses"].values():
                content = response.get("content", {}).get("application/json")
                if content and "example" in content:
                    _validator(document, content["schema"]).validate(content["example"])
                    checked += 1
    assert checked == 7


def test_parameters_carry_xsd_types(document: dict[str, Any]) -> None:
    search = document["paths"]["/v1/customers"]["get"]
    by_name = {p["name"]: p for p in search["parameters"]}
    assert by_name["status"]["schema"]["enum"] == ["active", "suspended", "closed"]
    assert by_name["min_balance"]["schema"]["type"] == "string"  # decimals stay exact
    get = document["paths"]["/v1/customers/{id}"]["get"]
    assert get["parameters"][0]["schema"]["type"] == "integer"


def test_faults_and_failures_are_documented_as_problems(document: dict[str, Any]) -> None:
    responses = document["paths"]["/v1/customers/{id}"]["get"]["responses"]
    assert {"404", "422", "502", "504"} <= set(responses)
    problem = responses["404"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}


def test_write_routes_document_the_idempotency_key(document: dict[str, Any]) -> None:
    create = document["paths"]["/v1/customers"]["post"]
    [key] = [p for p in create["parameters"] if p["name"] == "Idempotency-Key"]
    assert (key["in"], key["required"], key["schema"]["maxLength"]) == ("header", False, 255)
    assert {"409", "422", "503"} <= set(create["responses"])
    read = document["paths"]["/v1/customers/{id}"]["get"]
    assert "Idempotency-Key" not in {p["name"] for p in read["parameters"]}
    assert "409" not in read["responses"] and "503" in read["responses"]


def test_request_body_follows_body_paths(tmp_path: Path) -> None:
    mapping = tmp_path / "update.yaml"
    mapping.write_text(
        """
route: {method: PUT, path: "/customers/{id}"}
legacy:
  wsdl: crm.wsdl
  operation: UpdateCustomer
  request: {CustomerId: path.id, Customer: body.customer}
"""
    )
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table([read_mapping(mapping, {})], registry)
    body = build_contracts(table, registry).routes["update"].request_body
    assert body == {
        "type": "object",
        "properties": {"customer": {"$ref": "#/components/schemas/crm.CustomerUpdate"}},
        "required": ["customer"],
    }


def test_quoted_names_are_field_paths_too(tmp_path: Path) -> None:
    mapping = tmp_path / "search.yaml"
    mapping.write_text(
        """
route: {method: POST, path: /search}
legacy:
  wsdl: crm.wsdl
  operation: SearchCustomers
  request: {Name: 'query."customer-name"', Status: 'body."the-status"'}
"""
    )
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table([read_mapping(mapping, {})], registry)
    contract = build_contracts(table, registry).routes["search"]
    assert [p["name"] for p in contract.parameters] == ["customer-name"]
    assert contract.request_body is not None
    assert list(contract.request_body["properties"]) == ["the-status"]


def test_untypable_response_expression_is_a_free_object_that_says_so(tmp_path: Path) -> None:
    mapping = tmp_path / "count.yaml"
    mapping.write_text(
        """
route: {method: GET, path: /count}
legacy:
  wsdl: crm.wsdl
  operation: SearchCustomers
  response: length(Customers.Customer)
"""
    )
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table([read_mapping(mapping, {})], registry)
    document = openapi_document(table, build_contracts(table, registry))
    validate(document)
    schema = document["paths"]["/count"]["get"]["responses"]["200"]["content"]
    assert schema["application/json"]["schema"] == {"description": UNTYPED_RESPONSE}


def test_the_app_serves_the_document(document: dict[str, Any]) -> None:
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(ROOT / "mappings", {}), registry)
    with serve_in_thread(create_app(table, registry)) as base:
        served = httpx.get(f"{base}/openapi.json").json()
        docs = httpx.get(f"{base}/docs")
    assert served["paths"] == document["paths"]
    assert docs.status_code == 200
