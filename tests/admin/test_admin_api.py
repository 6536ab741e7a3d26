"""The admin API over HTTP: the facade under uvicorn with an admin token, the legacy SOAP
peer and the new REST peer pytest-httpserver servers on 127.0.0.1. Real traffic first, then
`GET /admin/status` and `facade status` read what it did."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pytest_httpserver import HTTPServer
from servers import PromptHTTPServer, serve_in_thread
from starlette.applications import Starlette
from test_app import closed_port
from typer.testing import CliRunner
from wsdls import envelope

from facade.app import create_app
from facade.cli import app as cli
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parents[2]
CRM = "http://example.com/crm"
TOKEN = "s3cret-admin-token"
LEGACY_BODY = {"id": 1, "name": "Ada Lovelace", "balance": "1234.50"}


def route(path: str, **migration: Any) -> dict[str, Any]:
    return {
        "route": {"method": "GET", "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "${CRM_URL}",
            "request": {"CustomerId": "path.id"},
            "response": "Customer.{id: Id, name: Name, balance: Balance}",
        },
        "new": {"url": "${NEW_URL}/api/customers/{path.id}", "timeout": 5},
        "migration": migration,
    }


MAPPINGS = {
    "shadowed": route("/v1/shadowed/{id}", mode="shadow"),
    "served-new": route("/v1/served-new/{id}", mode="new"),
    "ramping": route("/v1/ramping/{id}", mode="canary", percent=10),
    "untouched": route("/v1/untouched/{id}"),
}


def legacy_answer() -> str:
    customer = (
        "<c:Customer><c:Id>1</c:Id><c:Name>Ada Lovelace</c:Name><c:Email>a@example.com</c:Email>"
        "<c:Status>active</c:Status><c:Balance>1234.50</c:Balance>"
        "<c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt><c:Address><c:Street>x</c:Street>"
        "<c:City>London</c:City><c:PostalCode>p</c:PostalCode><c:Country>GB</c:Country>"
        "</c:Address></c:Customer>"
    )
    return envelope(f'<c:GetCustomerResponse xmlns:c="{CRM}">{customer}</c:GetCustomerResponse>')


def build(legacy: HTTPServer, new: HTTPServer, folder: Path, settings: Settings) -> Starlette:
    for name, document in MAPPINGS.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {"CRM_URL": legacy.url_for("/crm"), "NEW_URL": new.url_for("").rstrip("/")}
    registry = WsdlRegistry(ROOT / "wsdl")
    return create_app(build_route_table(load_mappings(folder, env), registry), registry, settings)


@pytest.fixture(scope="module")
def new_server() -> Iterator[HTTPServer]:
    server = PromptHTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(scope="module")
def base_url(
    make_httpserver: HTTPServer, new_server: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mappings")
    app = build(make_httpserver, new_server, folder, Settings(admin_token=TOKEN))
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, trust_env=False) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {route["name"]: route for route in document["routes"]}


def status_when(
    client: httpx.Client, done: Callable[[dict[str, dict[str, Any]]], bool]
) -> dict[str, dict[str, Any]]:
    """The routes' status once `done` holds (shadow comparisons finish after the answer)."""
    deadline = time.monotonic() + 5
    while True:
        routes = by_name(client.get("/admin/status", headers=bearer(TOKEN)).json())
        if done(routes):
            return routes
        assert time.monotonic() < deadline, routes
        time.sleep(0.02)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        bearer("wrong"),
        {"Authorization": "Bearer"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
    ],
    ids=["missing", "wrong", "empty", "no-scheme", "basic"],
)
def test_a_call_without_the_token_is_refused(client: httpx.Client, headers: dict[str, str]) -> None:
    response = client.get("/admin/status", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:facade:problem:unauthorized"
    assert TOKEN not in response.text


def test_the_token_is_compared_in_constant_time(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert client.get("/admin/status", headers=bearer("wrong")).status_code == 401
    assert client.get("/admin/status", headers=bearer(TOKEN)).status_code == 200
    assert compared == [(b"wrong", TOKEN.encode()), (TOKEN.encode(), TOKEN.encode())]


def test_the_admin_api_is_off_without_a_token(
    make_httpserver: HTTPServer, new_server: HTTPServer, tmp_path: Path
) -> None:
    app = build(make_httpserver, new_server, tmp_path, Settings())
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as http:
        for path in ("/admin/status", "/admin/flags"):
            response = http.get(path, headers=bearer(TOKEN))
            assert response.status_code == 404
            assert response.json()["type"] == "urn:facade:problem:not-found"


def test_status_reports_modes_requests_fallbacks_violations_and_shadow_diffs(
    client: httpx.Client, httpserver: HTTPServer, new_server: HTTPServer
) -> None:
    new_server.clear()
    httpserver.expect_request("/crm").respond_with_data(legacy_answer(), content_type="text/xml")
    renamed = {"id": 1, "name": "Ada King", "balance": "1234.50"}
    new_server.expect_request("/api/customers/1").respond_with_json(renamed)
    for request_id in ("first", "second"):
        response = client.get("/v1/shadowed/1", headers={"x-request-id": request_id})
        assert response.json() == LEGACY_BODY
    routes = status_when(client, lambda r: r["shadowed"]["shadow"]["comparisons"] >= 2)
    shadowed = routes["shadowed"]
    assert (shadowed["mode"], shadowed["requests"]["legacy"]) == ("shadow", 2)
    assert shadowed["shadow"] | {"recent_diffs": []} == {
        "comparisons": 2,
        "matches": 0,
        "mismatches": 2,
        "errors": {"legacy": 0, "new": 0},
        "drops": 0,
        "skipped": 0,
        "recent_diffs": [],
    }
    assert shadowed["shadow"]["recent_diffs"][-1] == {
        "path": "name",
        "legacy": "Ada Lovelace",
        "new": "Ada King",
        "request_id": "second",
    }

    new_server.clear()
    new_server.expect_ordered_request("/api/customers/1").respond_with_data("boom", status=500)
    number_balance = {"id": 1, "name": "Ada Lovelace", "balance": 1234.5}
    new_server.expect_ordered_request("/api/customers/1").respond_with_json(number_balance)
    assert client.get("/v1/served-new/1").headers["x-facade-backend"] == "legacy-fallback"
    assert client.get("/v1/served-new/1").headers["x-facade-backend"] == "new"
    served = status_when(client, lambda r: True)["served-new"]
    assert served["requests"] == {"legacy": 0, "new": 1, "legacy-fallback": 1}
    assert served["fallbacks"] == 1
    assert served["contract_violations"] == {"legacy": 0, "new": 1}
    assert (routes["ramping"]["mode"], routes["ramping"]["percent"]) == ("canary", 10)
    assert routes["untouched"]["mode"] == "legacy"
    assert routes["untouched"]["shadow"]["comparisons"] == 0


def test_the_admin_api_is_not_in_the_metrics_or_the_api_docs(client: httpx.Client) -> None:
    client.get("/admin/status", headers=bearer(TOKEN))
    assert "/admin" not in json.dumps(client.get("/openapi.json").json())
    assert 'route="-"' not in client.get("/metrics").text


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_facade_status_prints_a_table(
    runner: CliRunner, base_url: str, httpserver: HTTPServer, new_server: HTTPServer, client: Any
) -> None:
    new_server.clear()
    httpserver.expect_request("/crm").respond_with_data(legacy_answer(), content_type="text/xml")
    new_server.expect_request("/api/customers/1").respond_with_json({"id": 1, "name": "A"})
    client.get("/v1/shadowed/1", headers={"x-request-id": "for-the-table"})
    status_when(
        client,
        lambda r: r["shadowed"]["shadow"]["recent_diffs"][-1]["request_id"] == "for-the-table",
    )
    result = runner.invoke(cli, ["status", "--url", base_url, "--token", TOKEN])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "ROUTE", "MODE", "PERCENT", "DECLARED", "LEGACY", "NEW", "FALLBACK", "FALLBACKS",
        "COMPARED", "MATCH", "MISMATCH", "ERRORS", "DROPS", "SKIPPED", "GUARD",
    ]  # fmt: skip
    rows = {line.split()[0]: line.split() for line in lines[1:5]}
    assert rows["ramping"][1:4] == ["canary", "10", "canary:10"]
    assert rows["untouched"][1:] == ["legacy", "-", "legacy", *["0"] * 10, "-"]
    assert rows["shadowed"][1] == "shadow"
    assert '  name: "Ada Lovelace" -> "A"  (for-the-table)' in lines
    assert "crm.wsdl: 1 of 1 legacy operations still receive traffic (0 of 4 routes retired)" in (
        lines
    )
    assert lines[-1] == (
        "(requests and fallbacks: this worker; shadow and guard figures: this worker)"
    )


def test_facade_status_json_is_the_admin_document(
    runner: CliRunner, base_url: str, client: httpx.Client
) -> None:
    env = {"FACADE_ADMIN_TOKEN": TOKEN}
    result = runner.invoke(cli, ["status", "--url", base_url, "--json"], env=env)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert [route["name"] for route in printed["routes"]] == [
        "ramping",
        "served-new",
        "shadowed",
        "untouched",
    ]
    assert printed.keys() == client.get("/admin/status", headers=bearer(TOKEN)).json().keys()


def error_of(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(cli, ["status", *args], env=env or {"FACADE_ADMIN_TOKEN": ""})
    assert result.exit_code == 1, result.output
    [line] = result.output.splitlines()
    return line


def test_facade_status_says_why_it_cannot_read_the_status(
    runner: CliRunner, base_url: str, make_httpserver: HTTPServer, tmp_path: Path
) -> None:
    wrong = error_of(runner, "--url", base_url, "--token", "wrong")
    assert wrong == f"facade status: the facade at {base_url} refused the admin token (401)"
    assert error_of(runner, "--url", base_url) == (
        "facade status: no admin token: pass --token or set FACADE_ADMIN_TOKEN"
    )
    nowhere = f"http://127.0.0.1:{closed_port()}"
    unreachable = error_of(runner, "--url", nowhere, "--token", TOKEN)
    assert unreachable.startswith(f"facade status: cannot reach the facade at {nowhere}: ")
    off = build(make_httpserver, make_httpserver, tmp_path, Settings())
    with serve_in_thread(off) as url:
        assert error_of(runner, "--url", url, "--token", TOKEN) == (
            f"facade status: no admin API at {url} (404): "
            "is it a facade started with FACADE_ADMIN_TOKEN set?"
        )


def test_facade_status_refuses_a_document_that_is_not_a_status(make_httpserver: HTTPServer) -> None:
    """A URL that answers 200 with other JSON is one line and exit 1, not a traceback."""
    make_httpserver.expect_request("/admin/status").respond_with_json({"hello": "world"})
    url = make_httpserver.url_for("/").rstrip("/")
    result = CliRunner().invoke(cli, ["status", "--url", url, "--token", TOKEN])
    assert result.exit_code == 1
    assert "did not answer a facade status document" in result.output
