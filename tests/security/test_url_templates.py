"""Values from the client cannot move a new-side call to another host, path or query.

The facade under uvicorn; the new service a pytest-httpserver peer that records the raw
request line it received.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from facades import facade_for, legacy
from pytest_httpserver import HTTPServer

ATTACKS = [
    "..%2F..%2Fadmin",
    "../../admin",
    "@evil.example",
    "x?y#z",
    "http://evil.example/steal?x=1",
    "//evil.example",
    "a&admin=true",
    "%00",
    "\u00e9t\u00e9",
]

MAPPINGS: dict[str, Any] = {
    # the client's query value lands in a path segment and in a query value
    "lookup": {
        "route": {"method": "GET", "path": "/v1/lookup"},
        "legacy": legacy("SearchCustomers", {"Name": "query.ref"}),
        "new": {"url": "${NEW_URL}/people/{query.ref}/card?name={query.ref}&fixed=1"},
        "migration": {"mode": "new", "fallback": False},  # the new side alone
    },
    # the same through a path parameter
    "by-name": {
        "route": {"method": "GET", "path": "/v1/by-name/{name}"},
        "legacy": legacy("SearchCustomers", {"Name": "path.name"}),
        "new": {"url": "${NEW_URL}/people/{path.name}/card"},
        "migration": {"mode": "new", "fallback": False},  # the new side alone
    },
}


@pytest.fixture(scope="module")
def client(
    make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    env = {"NEW_URL": make_httpserver.url_for("/api")}
    with facade_for(tmp_path_factory.mktemp("mappings"), MAPPINGS, env) as url:
        with httpx.Client(base_url=url, trust_env=False) as http:
            yield http


def raw_target(httpserver: HTTPServer) -> str:
    [(request, _)] = httpserver.log
    return str(request.environ["RAW_URI"])


@pytest.mark.parametrize("value", ATTACKS)
def test_a_query_value_stays_in_its_segment_and_query_value(
    client: httpx.Client, httpserver: HTTPServer, value: str
) -> None:
    httpserver.expect_request(f"/api/people/{value}/card").respond_with_json({"ok": True})
    response = client.get("/v1/lookup", params={"ref": value})
    assert response.status_code == 200, response.text
    assert response.headers["x-facade-backend"] == "new"
    encoded = quote(value, safe="")
    assert raw_target(httpserver) == f"/api/people/{encoded}/card?name={encoded}&fixed=1"
    [(request, _)] = httpserver.log
    assert request.host == f"localhost:{httpserver.port}"
    assert request.args.getlist("fixed") == ["1"]
    assert request.args.getlist("name") == [value]
    assert "admin" not in request.args


@pytest.mark.parametrize("value", ["@evil.example", "x?y#z", "http:evil.example", "a;b=c", "%"])
def test_a_path_parameter_stays_in_its_segment(
    client: httpx.Client, httpserver: HTTPServer, value: str
) -> None:
    httpserver.expect_request(f"/api/people/{value}/card").respond_with_json({"ok": True})
    response = client.get("/v1/by-name/" + quote(value, safe=""))
    assert response.status_code == 200, response.text
    assert raw_target(httpserver) == f"/api/people/{quote(value, safe='')}/card"


@pytest.mark.parametrize("value", ["..%2F..%2Fadmin", "http:%2F%2Fevil.example%2Fx"])
def test_a_path_parameter_with_a_slash_matches_no_route(
    client: httpx.Client, httpserver: HTTPServer, value: str
) -> None:
    assert client.get("/v1/by-name/" + value).status_code == 404
    assert httpserver.log == []


@pytest.mark.parametrize("value", ["..", ".", ""])
def test_a_value_that_would_be_a_dot_segment_is_refused(
    client: httpx.Client, httpserver: HTTPServer, value: str
) -> None:
    response = client.get("/v1/lookup", params={"ref": value})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.ref"
    assert httpserver.log == []


def test_a_missing_path_value_is_refused_before_any_call(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    response = client.get("/v1/lookup")
    assert response.status_code == 422
    assert httpserver.log == []
