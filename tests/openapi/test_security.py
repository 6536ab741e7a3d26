"""The OpenAPI document under a settings file: security schemes, each operation's
requirement, and the 401, 403 and 429 answers with their headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import identity
import orjson
import pytest
import yaml
from facades import legacy
from openapi_spec_validator import validate

from facade.config.loader import load_config
from facade.contracts import build_contracts
from facade.mapping.loader import load_mappings
from facade.openapi.document import openapi_document
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parents[2]


def route(method: str, path: str, **more: Any) -> dict[str, Any]:
    return {
        "route": {"method": method, "path": path},
        "legacy": legacy("GetCustomer", {"CustomerId": "path.id"}),
        **more,
    }


MAPPINGS = {
    "scoped": route("GET", "/v1/scoped/{id}", auth={"scopes": ["customers:write", "audit"]}),
    "open": route("GET", "/v1/open/{id}", auth="public"),
    "plain": route("GET", "/v1/plain/{id}"),  # the default's requirement
    "anyone": route("GET", "/v1/anyone/{id}", auth={"scopes": []}),
    "quick": route("GET", "/v1/quick/{id}", rate_limit={"rate": 5, "burst": 10}),
    "free": route("GET", "/v1/free/{id}", rate_limit="off", auth="public"),
    "faulty": route(
        "PUT",
        "/v1/faulty/{id}",
        auth={"scopes": ["customers:write"]},
        legacy=legacy("GetCustomer", {"CustomerId": "path.id"}, faults={"CustomerNotFound": 403}),
    ),
}
JWT = {"jwks_file": "jwks.json", "issuer": identity.ISSUER, "audience": identity.AUDIENCE}
API_KEYS = {"header": "X-Reporting-Key", "keys": []}
LIMITS = {"routes": {"quick": {"rate": 1, "burst": 2}, "plain": {"rate": 1, "burst": 3}}}


def document_for(
    folder: Path, config: dict[str, Any] | None, mappings: dict[str, Any] = MAPPINGS
) -> dict[str, Any]:
    (folder / "mappings").mkdir(parents=True)
    for name, mapping in mappings.items():
        (folder / "mappings" / f"{name}.yaml").write_text(yaml.safe_dump(mapping))
    (folder / "jwks.json").write_bytes(orjson.dumps(identity.jwks("k1")))
    loaded = None
    if config is not None:
        (folder / "facade.yaml").write_text(yaml.safe_dump(config))
        loaded = load_config(folder / "facade.yaml", {})
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(folder / "mappings", {}), registry)
    return openapi_document(table, build_contracts(table, registry), config=loaded)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = {
        "auth": {
            "realm": "crm",
            "default": {"scopes": ["customers:read"]},
            "jwt": JWT,
            "api_keys": API_KEYS,
        },
        "rate_limits": LIMITS,
    }
    return document_for(tmp_path_factory.mktemp("secured"), config)


def operation(document: dict[str, Any], path: str, method: str = "get") -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def test_the_secured_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    validate(document)


def test_each_configured_credential_is_a_security_scheme(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"bearer", "apiKey"}
    assert {k: v for k, v in schemes["bearer"].items() if k != "description"} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert {k: v for k, v in schemes["apiKey"].items() if k != "description"} == {
        "type": "apiKey",
        "in": "header",
        "name": "x-reporting-key",  # as the facade reads it: header names are lower-cased
    }


def test_a_scoped_route_requires_its_scopes_of_either_credential(
    document: dict[str, Any],
) -> None:
    scoped = operation(document, "/v1/scoped/{id}")
    scopes = ["customers:write", "audit"]
    assert scoped["security"] == [{"bearer": scopes}, {"apiKey": scopes}]
    unauthorized = scoped["responses"]["401"]
    assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True
    assert unauthorized["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    forbidden = scoped["responses"]["403"]
    assert "customers:write, audit" in forbidden["description"]
    assert forbidden["headers"]["WWW-Authenticate"]["required"] is True  # bearer's challenge
    assert "429" not in scoped["responses"]


def test_a_route_saying_nothing_takes_the_defaults_requirement(document: dict[str, Any]) -> None:
    plain = operation(document, "/v1/plain/{id}")
    assert plain["security"] == [{"bearer": ["customers:read"]}, {"apiKey": ["customers:read"]}]
    assert {"401", "403"} <= set(plain["responses"])


def test_any_authenticated_caller_gets_401_but_never_403(document: dict[str, Any]) -> None:
    anyone = operation(document, "/v1/anyone/{id}")
    assert anyone["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "401" in anyone["responses"] and "403" not in anyone["responses"]


def test_a_public_route_needs_nothing_but_refuses_a_wrong_credential(
    document: dict[str, Any],
) -> None:
    public = operation(document, "/v1/open/{id}")
    assert public["security"] == []
    assert "403" not in public["responses"]
    unauthorized = public["responses"]["401"]  # a credential sent and not valid
    assert "admitted" in unauthorized["description"]
    assert unauthorized["headers"]["WWW-Authenticate"]["required"] is True


def test_a_limited_route_documents_429_and_its_fields_on_every_answer(
    document: dict[str, Any],
) -> None:
    for path in ("/v1/quick/{id}", "/v1/plain/{id}"):  # facade.yaml's bucket, either way
        responses = operation(document, path)["responses"]
        limited = responses["429"]
        assert set(limited["headers"]) == {
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        }
        assert all(header["required"] for header in limited["headers"].values())
        assert "application/problem+json" in limited["content"]
        assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(
            responses["200"]["headers"]
        )
    for path in ("/v1/free/{id}", "/v1/scoped/{id}"):  # off; no bucket at all
        responses = operation(document, path)["responses"]
        assert "429" not in responses
        assert set(responses["200"]["headers"]) == {"X-Facade-Backend"}


def test_a_fault_mapped_to_403_and_a_missing_scope_share_the_status(
    document: dict[str, Any],
) -> None:
    forbidden = operation(document, "/v1/faulty/{id}", "put")["responses"]["403"]
    assert forbidden["description"].startswith("SOAP fault CustomerNotFound; or: ")
    assert "customers:write" in forbidden["description"]
    # a fault's 403 has no challenge: the header is documented, not required
    assert forbidden["headers"]["WWW-Authenticate"]["required"] is False


def test_api_keys_alone_are_the_only_scheme_and_403_has_no_challenge(tmp_path: Path) -> None:
    config = {"auth": {"default": "public", "api_keys": API_KEYS}}
    document = document_for(tmp_path, config)
    validate(document)
    assert set(document["components"]["securitySchemes"]) == {"apiKey"}
    scoped = operation(document, "/v1/scoped/{id}")
    assert scoped["security"] == [{"apiKey": ["customers:write", "audit"]}]
    assert "headers" not in scoped["responses"]["403"]
    assert operation(document, "/v1/plain/{id}")["security"] == []  # the default: public


def test_rate_limits_without_authentication_document_429_only(tmp_path: Path) -> None:
    mappings = {name: MAPPINGS[name] for name in ("open", "plain", "quick", "free")}
    document = document_for(
        tmp_path, {"rate_limits": {"default": {"rate": 1, "burst": 1}}}, mappings
    )
    validate(document)
    assert "securitySchemes" not in document["components"]
    for path, methods in document["paths"].items():
        responses = methods["get"]["responses"]
        assert "security" not in methods["get"]
        assert not {"401", "403"} & set(responses)
        assert ("429" in responses) is (path != "/v1/free/{id}"), path


def test_without_a_settings_file_the_document_is_as_before(tmp_path: Path) -> None:
    mappings = {name: MAPPINGS[name] for name in ("open", "plain", "free")}
    document = document_for(tmp_path, None, mappings)
    assert document == document_for(tmp_path / "again", {}, mappings)  # an empty facade.yaml
    assert list(document["components"]) == ["schemas"]
    for methods in document["paths"].values():
        assert "security" not in methods["get"]
        assert not {"401", "403", "429"} & set(methods["get"]["responses"])
