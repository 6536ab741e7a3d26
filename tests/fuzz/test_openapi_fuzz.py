"""The facade's own /openapi.json, fuzzed by schemathesis against a real facade.

The demo mappings are served by `facade serve` (uvicorn) in front of the mock CRM
(`facade mock`); both are processes started here. For each documented operation,
schemathesis generates requests that fit the schema and requests that do not, sends them,
and checks the answers:

- no 5xx at all (the mock CRM does not fail, so any 5xx would be the facade's);
- every answer fits the documented status codes, content types, headers and schemas;
- a request that breaks the schema is refused with a 4xx;
- a request that fits the schema is never refused by the facade itself: a 4xx must come
  from the legacy system (`X-Facade-Backend: legacy`, a SOAP fault it chose), such as
  404 for an unknown customer.

A second, smaller run serves the same routes under a facade.yaml with API keys, a default
scope and a rate limit, and cycles the caller's credential (none, a wrong key, a key without
the scope, a key with it): its 401, 403 and 429 answers must be documented too.

Bounded by examples per operation, so the run stays well under a minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import identity
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from processes import mock_and_facade
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}
"""Cases per operation and mode: 7 operations x 65 cases."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def facade() -> Iterator[str]:
    with mock_and_facade() as base:
        yield base


@pytest.fixture(scope="module")
def schema(facade: str) -> Any:
    return schemathesis.openapi.from_url(facade + "/openapi.json")


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


KEY_REFUSALS = ("idempotency-key-reused", "idempotency-key-in-flight")
"""Refusals no schema can rule out: the generator repeats an Idempotency-Key with another
body, which the facade must refuse (one key, one request)."""


def accepted_by_the_facade(response: Any) -> bool:
    """A schema-valid request is refused only by the legacy system's own fault, or because
    it repeated an Idempotency-Key for another request."""
    if response.status_code < 400 or response.status_code >= 500:
        return True
    if response.status_code in (409, 422):
        problem_type = str(response.json().get("type", ""))
        if problem_type.endswith(KEY_REFUSALS):
            return True
    return response.headers.get("x-facade-backend") == ["legacy"]


@pytest.mark.parametrize("mode", list(EXAMPLES))
def test_fuzzed_requests_get_documented_answers(
    facade: str, schema: Any, mode: GenerationMode
) -> None:
    statuses: Counter[int] = Counter()
    cases = 0
    for operation in operations(schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal cases
            response = case.call(base_url=facade)
            cases += 1
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)
            if mode is GenerationMode.POSITIVE:
                assert accepted_by_the_facade(response), (
                    f"{case.method} {case.formatted_path}: the facade refused a request that "
                    f"fits its schema: {response.status_code} {response.text[:300]}"
                )

        run()
    assert cases >= len(operations(schema)) * 10  # the run was not cut short
    assert not [status for status in statuses if status >= 500], statuses


def test_every_path_answers_405_with_its_real_methods(facade: str, schema: Any) -> None:
    """An undocumented method on a documented path is a 405 whose Allow lists exactly the
    documented methods (HEAD with GET)."""
    documented: dict[str, set[str]] = {}
    for operation in operations(schema):
        documented.setdefault(operation.path, set()).add(operation.method.upper())
    with httpx.Client(base_url=facade) as client:
        for path, methods in documented.items():
            allowed = methods | ({"HEAD"} if "GET" in methods else set())
            concrete = path.replace("{id}", "1")
            for method in METHODS:
                if method in allowed:
                    continue
                answer = client.request(method, concrete)
                assert answer.status_code == 405, (method, path, answer.text)
                listed = {m.strip() for m in answer.headers["allow"].split(",")}
                assert listed == allowed, (method, path, listed)


READER, STRANGER = "reader-" + "5" * 32, "stranger-" + "6" * 32
CREDENTIALS: tuple[dict[str, str], ...] = (
    {},  # 401: the routes need a caller
    {"x-api-key": "guess-" + "7" * 32},  # 401: not a key
    {"x-api-key": STRANGER},  # 403: no scope
    {"x-api-key": READER},  # admitted, until get-customer's bucket is empty (429)
)
SECURED_EXAMPLES = 16
"""Cases per operation, credentials taking turns: 7 operations x 16 cases."""


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = [
        {"name": "reader", "sha256": identity.sha256(READER), "scopes": ["customers:read"]},
        {"name": "stranger", "sha256": identity.sha256(STRANGER)},
    ]
    config = {
        "auth": {"default": {"scopes": ["customers:read"]}, "api_keys": {"keys": keys}},
        "rate_limits": {"routes": {"get-customer": {"rate": 0.001, "burst": 2}}},
    }
    path = Path(tmp_path_factory.mktemp("secured")) / "facade.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    with mock_and_facade(extra_env={"FACADE_CONFIG": str(path)}) as base:
        yield base


def test_fuzzed_requests_with_credentials_get_documented_answers(secured: str) -> None:
    schema = schemathesis.openapi.from_url(secured + "/openapi.json")
    statuses: Counter[int] = Counter()
    for operation in operations(schema):
        turn = 0

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(
            max_examples=SECURED_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal turn
            headers = CREDENTIALS[turn % len(CREDENTIALS)]
            turn += 1
            response = case.call(base_url=secured, headers=headers)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS[:-1])

        run()
    assert {401, 403, 429} <= set(statuses), statuses  # each refusal was met, and documented
    assert not [status for status in statuses if status >= 500], statuses
