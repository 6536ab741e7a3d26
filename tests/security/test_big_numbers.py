"""Integers of any length are a 422 naming the field, never a 500.

Python refuses to read integers of 4,300 digits and more from text, and orjson refuses JSON
numbers beyond the largest float: both used to surface as unexpected errors.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
import yaml
from servers import serve_in_thread
from wsdls import write_wsdl, wsdl

from facade.app import create_app
from facade.guard import OVERSIZED_NUMBER, declared_too_large
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ARGUMENTS = '<xs:element name="Small" type="xs:int"/><xs:element name="Big" type="xs:integer"/>'
UNUSED_BACKEND = "http://127.0.0.1:9/svc"  # every request here is refused before any call
TYPES = {"int": "Small", "integer": "Big"}
DIGITS = [5_000, 100_000]


def _mapping(method: str, path: str, request: dict[str, str]) -> dict[str, object]:
    return {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": "t.wsdl",
            "operation": "Op",
            "address": UNUSED_BACKEND,
            "request": request,
        },
    }


MAPPINGS = {
    "by-path-int": _mapping("GET", "/int/{n}", {"Small": "path.n", "Big": "`1`"}),
    "by-path-integer": _mapping("GET", "/integer/{n}", {"Small": "`1`", "Big": "path.n"}),
    "by-query": _mapping("GET", "/q", {"Small": "query.int", "Big": "query.integer"}),
    "by-body": _mapping("POST", "/b", {"Small": "body.int", "Big": "body.integer"}),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    folder = tmp_path_factory.mktemp("big")
    write_wsdl(folder, "t.wsdl", wsdl({"Op": (ARGUMENTS, "")}))
    for name, document in MAPPINGS.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    registry = WsdlRegistry(folder)
    table = build_route_table(load_mappings(folder, {}), registry)
    app = create_app(table, registry, Settings(max_body_bytes=250_000))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as http:
        yield http


def _errors(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    return sorted((e["field"], e["message"]) for e in response.json()["errors"])


def _expected(kind: str, digits: int) -> str:
    bounds = f"between {-(2**31)} and {2**31 - 1}" if kind == "int" else "of at most 1000 digits"
    return f"expected xsd:{kind} {bounds}, got a number of {digits} digits"


@pytest.mark.parametrize("kind", TYPES)
def test_a_long_path_value_is_422(client: httpx.Client, kind: str) -> None:
    response = client.get(f"/{kind}/{'7' * 5_000}")  # 100,000 digits exceed the URL limit
    assert _errors(response) == [("path.n", _expected(kind, 5_000))]


@pytest.mark.parametrize("kind", TYPES)
def test_a_long_query_value_is_422(client: httpx.Client, kind: str) -> None:
    other = "integer" if kind == "int" else "int"
    response = client.get("/q", params={kind: "-" + "7" * 5_000, other: "1"})
    assert _errors(response) == [(f"query.{kind}", _expected(kind, 5_000))]


@pytest.mark.parametrize("digits", DIGITS)
def test_long_body_numbers_are_422_naming_the_fields(client: httpx.Client, digits: int) -> None:
    content = b'{"int": %s, "integer": -%s}' % (b"7" * digits, b"7" * digits)
    response = client.post("/b", content=content, headers={"content-type": "application/json"})
    assert _errors(response) == [("body.int", OVERSIZED_NUMBER), ("body.integer", OVERSIZED_NUMBER)]


def test_long_body_strings_are_422_naming_the_field(client: httpx.Client) -> None:
    response = client.post("/b", json={"int": "7" * 100_000, "integer": "7" * 100_000})
    assert _errors(response) == [
        ("body.int", _expected("int", 100_000)),
        ("body.integer", _expected("integer", 100_000)),
    ]


def test_integers_that_json_rounds_are_422(client: httpx.Client) -> None:
    content = orjson.dumps({"int": 1}).replace(b"}", b', "integer": %s}' % (b"7" * 30))
    response = client.post("/b", content=content, headers={"content-type": "application/json"})
    [(field, message)] = _errors(response)
    assert field == "body.integer"
    assert message.endswith("is too large for a JSON number to carry exactly, send it as a string")


def test_invalid_json_is_still_reported_as_such(client: httpx.Client) -> None:
    content = b'{"int": %s, ' % (b"7" * 5_000)
    response = client.post("/b", content=content, headers={"content-type": "application/json"})
    [(field, message)] = _errors(response)
    assert field == "body" and message.startswith("is not valid JSON:")


@pytest.mark.parametrize(
    ("length", "too_large"), [("9" * 5_000, True), ("0" * 5_000 + "10", False), ("²", False)]
)
def test_a_long_content_length_is_compared_without_int(length: str, too_large: bool) -> None:
    assert declared_too_large(length, 1024) is too_large


def test_a_large_integer_sent_as_a_string_as_advised_is_accepted(client: httpx.Client) -> None:
    # the backend is a closed port: getting past validation to a 502 is the point
    response = client.post("/b", json={"int": 1, "integer": "7" * 30})
    assert response.status_code == 502, response.text


def test_a_string_for_a_narrow_integer_in_a_body_is_422(client: httpx.Client) -> None:
    assert _errors(client.post("/b", json={"int": "1", "integer": 1})) == [
        ("body.int", "'1' is not of type 'integer'")
    ]
