"""The demo as a client sees it: the facade under uvicorn in front of the mock CRM."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from processes import ROOT, free_port, mock_and_facade

pytestmark = pytest.mark.e2e

NEW_CUSTOMER = {
    "Name": "Linus </Name><Admin>true</Admin> & co",
    "Email": "linus@example.com",
    "BirthDate": "1901-02-28",
    "Address": {"Street": "1 Main St", "City": "Portland", "PostalCode": "97201", "Country": "US"},
    "Tags": ["new"],
}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with mock_and_facade() as base, httpx.Client(base_url=base, timeout=10.0) as http:
        yield http


def test_get_customer_keeps_types(client: httpx.Client) -> None:
    response = client.get("/v1/customers/1")
    assert response.status_code == 200
    assert response.headers["x-facade-backend"] == "legacy"
    assert response.headers["content-type"] == "application/json"
    assert "server" not in response.headers  # `facade serve` names no server software
    customer = response.json()
    assert customer["Id"] == 1
    assert customer["Balance"] == "1234.50"
    assert customer["BirthDate"] == "1815-12-10"
    assert customer["CreatedAt"] == "2019-03-14T09:26:53+00:00"
    assert customer["Address"]["City"] == "London"
    assert customer["Tags"] == ["vip", "newsletter", "b2b"]


def test_repeated_elements_are_arrays_with_zero_or_one_item(client: httpx.Client) -> None:
    assert client.get("/v1/customers/2").json()["Tags"] == ["navy"]
    third = client.get("/v1/customers/3").json()
    assert third["Tags"] == []
    assert third["Email"] is None  # nil in the SOAP reply


def test_search_answers_arrays_for_zero_one_and_many(client: httpx.Client) -> None:
    none = client.get("/v1/customers", params={"name": "nobody has this name"}).json()
    assert none == {"Total": 0, "Customers": []}
    one = client.get("/v1/customers", params={"name": "hopper"}).json()
    assert one["Total"] == 1 and [c["Id"] for c in one["Customers"]] == [2]
    many = client.get("/v1/customers", params={"status": "active", "min_balance": "100"}).json()
    assert many["Total"] >= 2
    assert all(c["Status"] == "active" for c in many["Customers"])


def test_unknown_customer_is_a_404_problem_with_the_fault(client: httpx.Client) -> None:
    response = client.get("/v1/customers/42", headers={"X-Request-ID": "demo-42"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "demo-42"
    problem = response.json()
    assert problem["type"] == "urn:facade:problem:soap-fault"
    assert problem["request_id"] == "demo-42"
    assert problem["fault"]["detail"] == {
        "CustomerNotFound": {"CustomerId": 42}
    }  # typed by the WSDL


def test_bad_path_value_is_a_422_naming_the_parameter(client: httpx.Client) -> None:
    response = client.get("/v1/customers/abc")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "field": "path.id",
            "pointer": "/path/id",
            "message": "expected xsd:int (an integer), got 'abc'",
        }
    ]


def test_value_outside_an_enumeration_is_a_422_before_the_backend(client: httpx.Client) -> None:
    response = client.get("/v1/customers", params={"status": "gone", "min_balance": "1e5"})
    assert response.status_code == 422
    errors = {e["field"]: e for e in response.json()["errors"]}
    assert set(errors) == {"query.status", "query.min_balance"}
    assert errors["query.status"]["pointer"] == "/query/status"
    assert "active" in errors["query.status"]["message"]


def test_create_update_delete_round_trip(client: httpx.Client) -> None:
    created = client.post("/v1/customers", json=NEW_CUSTOMER)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["Name"] == NEW_CUSTOMER["Name"]  # XML-looking text stays text
    assert customer["BirthDate"] == "1901-02-28"
    customer_id = customer["Id"]

    fetched = client.get(f"/v1/customers/{customer_id}").json()
    assert fetched["Name"] == NEW_CUSTOMER["Name"]

    updated = client.patch(f"/v1/customers/{customer_id}", json={"Phone": "+1 555 0100"})
    assert updated.status_code == 200
    assert updated.json()["Phone"] == "+1 555 0100"
    assert updated.json()["Name"] == NEW_CUSTOMER["Name"]

    deleted = client.delete(f"/v1/customers/{customer_id}")
    assert deleted.json() == {"Deleted": True}
    assert client.get(f"/v1/customers/{customer_id}").status_code == 404


def test_create_with_unknown_field_is_refused_before_the_backend(client: httpx.Client) -> None:
    response = client.post("/v1/customers", json={**NEW_CUSTOMER, "Admin": True})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.Admin"


def test_get_order_has_its_lines_as_a_plain_array(client: httpx.Client) -> None:
    order = client.get("/v1/orders/1001").json()
    assert order["Id"] == 1001
    assert order["OrderDate"] == "2024-01-15"
    assert order["Total"] == "45.48"
    assert order["Lines"][0] == {"Sku": "SKU-100", "Quantity": 2, "UnitPrice": "19.99"}
    open_order = client.get("/v1/orders/1002").json()
    assert open_order["ShippedAt"] is None
    assert client.get("/v1/orders/7").status_code == 404


def test_list_orders_filters_by_date(client: httpx.Client) -> None:
    everything = client.get("/v1/customers/1/orders").json()["Orders"]
    since = client.get("/v1/customers/1/orders", params={"since": "2024-02-01"}).json()["Orders"]
    assert [o["Id"] for o in everything] == [1001, 1002]
    assert [o["Id"] for o in since] == [1002]
    # one shape for an order, wherever it appears
    assert everything[0] == client.get("/v1/orders/1001").json()
    assert client.get("/v1/customers/1/orders", params={"since": "yesterday"}).status_code == 422


def test_orders_of_an_unknown_customer_are_404_like_the_customer(client: httpx.Client) -> None:
    orders = client.get("/v1/customers/999/orders")
    assert orders.status_code == client.get("/v1/customers/999").status_code == 404
    assert orders.json()["type"] == "urn:facade:problem:soap-fault"


def test_operational_endpoints(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["flags"] == {"store": "in-process (lost at exit)", "problem": None}
    assert ready["configuration"]["generation"] == 1  # no reload yet, so no reload report
    assert set(ready["configuration"]) == {"generation", "version"}
    assert (ready["ready"], ready["wsdls"], ready["degraded"]) == (True, ["crm.wsdl"], [])
    assert {b["breaker"] for b in ready["backends"]} == {"closed"}
    client.get("/v1/customers/1")
    metrics = client.get("/metrics").text
    assert 'facade_requests_total{route="get-customer",side="legacy",status="200"}' in metrics
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/customers", "/v1/customers/{id}", "/v1/orders/{id}"} <= set(paths)


def test_demo_self_test_passes() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "demo",
            "--self-test",
            "--port",
            str(free_port()),
            "--mock-port",
            str(free_port()),
            "--new-port",
            str(free_port()),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert "BAD" not in result.stdout
    assert "/customers/1 -> 200" in result.stdout  # the new customers service answered too
