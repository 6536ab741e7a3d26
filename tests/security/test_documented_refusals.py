"""A real facade's 401, 403 and 429 answers are what its own /openapi.json declares for
the operation: the status, the content type and every header, required ones present.

Each answer is checked twice: by hand against the document, and by schemathesis's
conformance checks (the ones a fuzzing run with authentication on applies).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import identity
import orjson
import pytest
import schemathesis
from facades import facade_for, whoami_route
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

READER_KEY = "reader-" + "3" * 32
GATE_HEADERS = ("www-authenticate", "retry-after") + tuple(
    f"ratelimit-{field}" for field in ("limit", "remaining", "reset")
)
"""The headers the gate adds: each one a client receives must be documented."""
REFUSAL_CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


MAPPINGS = {
    "writer": whoami_route("/v1/writer", auth={"scopes": ["customers:write"]}),
    "reader": whoami_route("/v1/reader"),  # the default: customers:read
    "open": whoami_route("/v1/open", auth="public"),
    "limited": whoami_route("/v1/limited", auth="public", rate_limit={"rate": 0.01, "burst": 2}),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("documented") / "mappings"
    folder.mkdir()
    (folder.parent / "jwks.json").write_bytes(orjson.dumps(identity.jwks("k1")))
    config = {
        "auth": {
            "default": {"scopes": ["customers:read"]},
            "jwt": {
                "jwks_file": "jwks.json",
                "issuer": identity.ISSUER,
                "audience": identity.AUDIENCE,
            },
            "api_keys": {
                "keys": [
                    {
                        "name": "reader",
                        "sha256": identity.sha256(READER_KEY),
                        "scopes": ["customers:read"],
                    }
                ]
            },
        },
        "rate_limits": {"routes": {"reader": {"rate": 0.01, "burst": 1}}},
    }
    with facade_for(folder, MAPPINGS, {}, config=config) as url:
        yield url


@pytest.fixture(scope="module")
def document(base: str) -> dict[str, Any]:
    answer = httpx.get(base + "/openapi.json")
    assert answer.status_code == 200
    found: dict[str, Any] = answer.json()
    return found


@pytest.fixture(scope="module")
def schema(base: str) -> Any:
    return schemathesis.openapi.from_url(base + "/openapi.json")


def call(
    base: str, schema: Any, prefix: str, headers: dict[str, str] | None = None
) -> tuple[Any, Any]:
    """GET {prefix}/1 as a schemathesis case of the operation, and its answer."""
    case = schema[prefix + "/{id}"]["GET"].Case(path_parameters={"id": 1}, headers=headers or {})
    return case, case.call(base_url=base)


def assert_documented(document: dict[str, Any], prefix: str, response: Any) -> None:
    operation = document["paths"][prefix + "/{id}"]["get"]
    status = str(response.status_code)
    assert status in operation["responses"], f"{prefix}: {status} is not documented"
    declared = operation["responses"][status]
    media_type = response.headers["content-type"][0].split(";")[0].strip()
    assert media_type in declared["content"], f"{prefix} {status}: {media_type}"
    headers = {name.lower(): header for name, header in declared.get("headers", {}).items()}
    for name, header in headers.items():
        if header.get("required", False):
            assert name in response.headers, f"{prefix} {status}: {name} is missing"
    for name in GATE_HEADERS:
        if name in response.headers:
            assert name in headers, f"{prefix} {status}: {name} is sent, not documented"


def test_no_credentials_is_a_documented_401(
    document: dict[str, Any], base: str, schema: Any
) -> None:
    for prefix in ("/v1/writer", "/v1/reader"):
        case, response = call(base, schema, prefix)
        assert response.status_code == 401
        assert "Bearer" in response.headers["www-authenticate"][0]
        assert_documented(document, prefix, response)
        case.validate_response(response, checks=REFUSAL_CHECKS)


def test_a_wrong_credential_on_a_public_route_is_a_documented_401(
    document: dict[str, Any], base: str, schema: Any
) -> None:
    expired = identity.token(exp=1, iat=0, nbf=0)
    for headers in ({"authorization": f"Bearer {expired}"}, {"x-api-key": "guess-" + "1" * 30}):
        case, response = call(base, schema, "/v1/open", headers)
        assert response.status_code == 401
        assert_documented(document, "/v1/open", response)
        case.validate_response(response, checks=REFUSAL_CHECKS)


def test_a_missing_scope_is_a_documented_403(
    document: dict[str, Any], base: str, schema: Any
) -> None:
    token = identity.token(scope="customers:read")
    for headers in ({"authorization": f"Bearer {token}"}, {"x-api-key": READER_KEY}):
        case, response = call(base, schema, "/v1/writer", headers)
        assert response.status_code == 403
        assert 'error="insufficient_scope"' in response.headers["www-authenticate"][0]
        assert_documented(document, "/v1/writer", response)
        case.validate_response(response, checks=REFUSAL_CHECKS)


@pytest.mark.parametrize(
    ("prefix", "headers"),
    [
        ("/v1/limited", {}),  # the mapping's bucket, an anonymous caller
        ("/v1/reader", {"x-api-key": READER_KEY}),  # facade.yaml's bucket, a principal
    ],
)
def test_an_empty_bucket_is_a_documented_429_and_each_answer_documents_its_fields(
    document: dict[str, Any], base: str, schema: Any, prefix: str, headers: dict[str, str]
) -> None:
    answers = []
    for _ in range(4):
        case, response = call(base, schema, prefix, headers)
        answers.append(response.status_code)
        assert_documented(document, prefix, response)
        if response.status_code == 429:
            case.validate_response(response, checks=REFUSAL_CHECKS)
        else:
            assert "ratelimit-remaining" in response.headers
            case.validate_response(response, checks=REFUSAL_CHECKS[:3])
    assert answers[-1] == 429 and answers[0] == 200, answers
