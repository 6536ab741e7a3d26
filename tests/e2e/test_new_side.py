"""`facade serve` as a real process serving routes in mode new: one from a handler found on
PYTHONPATH, one from a REST service on loopback, beside a route still on legacy."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import yaml
from processes import free_port, process
from pytest_httpserver import HTTPServer

pytestmark = pytest.mark.e2e

HANDLER = """
async def get_customer(context):
    return {"id": int(context.path["id"]), "name": "From the rewrite", "balance": "0.00"}

async def caller(context):
    return {"id": int(context.path["id"]), "name": context.client.get("ip"), "balance": "0.00"}
"""
LEGACY = {
    "wsdl": "crm.wsdl",
    "operation": "GetCustomer",
    "address": "${CRM_URL}",
    "request": {"CustomerId": "path.id"},
    "response": "Customer.{id: Id, name: Name, balance: Balance}",
}


def route(path: str, new: dict[str, str] | None, mode: str) -> dict[str, object]:
    document: dict[str, object] = {
        "route": {"method": "GET", "path": path},
        "legacy": LEGACY,
        "migration": {"mode": mode},
    }
    return document | ({"new": new} if new else {})


@pytest.fixture(scope="module")
def base_url(
    tmp_path_factory: pytest.TempPathFactory, make_httpserver: HTTPServer
) -> Iterator[str]:
    code = tmp_path_factory.mktemp("rewrite")
    (code / "rewrite_customers.py").write_text(HANDLER, encoding="utf-8")
    mappings = tmp_path_factory.mktemp("mappings")
    documents = {
        "by-handler": route(
            "/v1/rewritten/{id}", {"handler": "rewrite_customers:get_customer"}, "new"
        ),
        "by-service": route("/v1/served/{id}", {"url": "${NEW_URL}/customers/{path.id}"}, "new"),
        "still-legacy": route("/v1/legacy/{id}", {"url": "${NEW_URL}/unused"}, "legacy"),
        "caller": route("/v1/caller/{id}", {"handler": "rewrite_customers:caller"}, "new"),
    }
    for name, document in documents.items():
        (mappings / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    port = free_port()
    env = {
        "PYTHONPATH": os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]),
        "NEW_URL": make_httpserver.url_for("/api"),
        "CRM_URL": f"http://127.0.0.1:{free_port()}/crm",
    }
    args = ["serve", "--port", str(port), "--mappings", str(mappings), "--wsdl", "wsdl"]
    base = f"http://127.0.0.1:{port}"
    with process(args, f"{base}/readyz", env):
        yield base


def test_a_handler_on_pythonpath_serves_its_route(base_url: str) -> None:
    response = httpx.get(f"{base_url}/v1/rewritten/4")
    assert response.status_code == 200
    assert response.headers["x-facade-backend"] == "new"
    assert response.json() == {"id": 4, "name": "From the rewrite", "balance": "0.00"}


def test_a_rest_service_serves_its_route(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/customers/5").respond_with_json(
        {"id": 5, "name": "Served", "balance": "5.00"}
    )
    response = httpx.get(f"{base_url}/v1/served/5")
    assert response.status_code == 200
    assert response.headers["x-facade-backend"] == "new"
    assert response.json()["name"] == "Served"


def test_a_route_in_mode_legacy_still_calls_legacy(base_url: str, httpserver: HTTPServer) -> None:
    response = httpx.get(f"{base_url}/v1/legacy/5")
    assert response.status_code == 502  # the legacy address is a closed port
    assert response.headers["x-facade-backend"] == "legacy"
    assert httpserver.log == []


@pytest.mark.parametrize("forwarded", ["10.9.8.7", "127.0.0.2, 10.9.8.7"])
def test_the_caller_is_the_connection_s_peer_whatever_x_forwarded_for_says(
    base_url: str, forwarded: str
) -> None:
    """Even from the loopback address, which uvicorn trusts as a proxy by default."""
    response = httpx.get(f"{base_url}/v1/caller/1", headers={"X-Forwarded-For": forwarded})
    assert response.status_code == 200
    assert response.json()["name"] == "127.0.0.1"
