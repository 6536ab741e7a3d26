"""The facade app under uvicorn on loopback, its legacy backend a pytest-httpserver peer."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from lxml import etree
from pytest_httpserver import HTTPServer
from servers import serve_in_thread
from werkzeug import Request, Response
from wsdls import SOAP11_ENV, envelope

from facade.app import create_app
from facade.mapping.loader import load_mappings
from facade.net import MemoryTransport, Reply
from facade.net.memory import MemoryRequest
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
CRM = "http://example.com/crm"
MAX_BODY = 2048
PROBLEM = "application/problem+json"
HEX_ID = re.compile(r"^[0-9a-f]{32}$")

CUSTOMER = f"""<c:Customer xmlns:c="{CRM}">
  <c:Id>1</c:Id><c:Name>Ada Lovelace</c:Name><c:Email>ada@example.com</c:Email>
  <c:Status>active</c:Status><c:Balance>1234.50</c:Balance>
  <c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt>
  <c:Address><c:Street>x</c:Street><c:City>London</c:City><c:PostalCode>p</c:PostalCode>
    <c:Country>GB</c:Country></c:Address>
</c:Customer>"""

NOT_FOUND = f"""<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:Client</faultcode>
  <faultstring>Customer 42 not found</faultstring>
  <detail><c:CustomerNotFound xmlns:c="{CRM}"><c:CustomerId>42</c:CustomerId></c:CustomerNotFound>
  </detail></s:Fault>"""

HTML_PAGE = (
    "<!DOCTYPE html><html><body><h1>Proxy error</h1>"
    "<p>upstream crm-db-01.internal refused: password=hunter2</p></body></html>"
)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def mapping(
    method: str, path: str, operation: str, request: dict[str, str], **legacy: Any
) -> dict[str, Any]:
    return {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": operation,
            "address": "${CRM_URL}",
            "request": request,
            **legacy,
        },
    }


MAPPINGS = {
    "get-customer": mapping(
        "GET",
        "/v1/customers/{id}",
        "GetCustomer",
        {"CustomerId": "path.id"},
        response="Customer.{id: Id, name: Name, balance: Balance}",
        faults={"CustomerNotFound": 404},
    ),
    "create-customer": mapping(
        "POST", "/v1/customers", "CreateCustomer", {"Customer": "body"}, response="Customer.Id"
    )
    | {"route": {"method": "POST", "path": "/v1/customers", "status": 201}},
    "search-customers": mapping(
        "GET",
        "/v1/customers",
        "SearchCustomers",
        {"Name": "query.name"},
        response="{total: Total, names: Customers.Customer[].Name}",
    ),
    # a literal segment where get-customer has {id}; its file sorts after get-customer's
    "zz-find-customers": mapping(
        "GET",
        "/v1/customers/search",
        "SearchCustomers",
        {"Name": "query.name"},
        response="{total: Total}",
    ),
    "delete-customer": mapping(
        "DELETE", "/v1/customers/{id}", "DeleteCustomer", {"CustomerId": "path.id"}
    ),
    "slow-customer": mapping(
        "GET", "/v1/slow/{id}", "GetCustomer", {"CustomerId": "path.id"}, timeout=0.2
    ),
    "lost-customer": mapping(
        "GET",
        "/v1/lost/{id}",
        "GetCustomer",
        {"CustomerId": "path.id"},
        address=f"http://127.0.0.1:{closed_port()}/crm",
    ),
}


@pytest.fixture(scope="module")
def base_url(
    make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The facade for MAPPINGS, served once for this module; its backend is the test peer."""
    folder = tmp_path_factory.mktemp("mappings")
    for name, document in MAPPINGS.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {"CRM_URL": make_httpserver.url_for("/crm")}
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(folder, env), registry)
    # one call per request and no breaker: tests here count calls and share the app
    settings = Settings(max_body_bytes=MAX_BODY, retry_attempts=1, breaker=False)
    app = create_app(table, registry, settings)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, trust_env=False) as http:
        yield http


def soap_answer(httpserver: HTTPServer, body: str, status: int = 200) -> None:
    httpserver.expect_request("/crm", method="POST").respond_with_data(
        envelope(body), status=status, content_type="text/xml; charset=utf-8"
    )


def wrapped(operation: str, inner: str) -> str:
    return f'<c:{operation}Response xmlns:c="{CRM}">{inner}</c:{operation}Response>'


def get_customer_reply(httpserver: HTTPServer) -> None:
    soap_answer(httpserver, wrapped("GetCustomer", CUSTOMER))


NEW_CUSTOMER = {
    "Name": "Alan",
    "Address": {"Street": "s", "City": "c", "PostalCode": "p", "Country": "GB"},
}


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """The problem document of `response`, checked for the members every problem has."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == f"urn:facade:problem:{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["instance"] == response.request.url.path
    assert "Traceback" not in response.text
    return body


# Answers from the legacy backend


def test_success(client: httpx.Client, httpserver: HTTPServer) -> None:
    get_customer_reply(httpserver)
    response = client.get("/v1/customers/1", headers={"X-Request-ID": "client-id.42:a_b-c"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"id": 1, "name": "Ada Lovelace", "balance": "1234.50"}
    assert response.headers["x-facade-backend"] == "legacy"
    assert response.headers["x-request-id"] == "client-id.42:a_b-c"
    [(request, _)] = httpserver.log
    assert request.headers["X-Request-ID"] == "client-id.42:a_b-c"
    assert etree.fromstring(request.get_data()).findtext(f".//{{{CRM}}}CustomerId") == "1"


@pytest.mark.parametrize("sent", [None, "has spaces", "x" * 129, "semi;colon", "ünï"])
def test_insane_or_missing_request_id_is_replaced(
    client: httpx.Client, httpserver: HTTPServer, sent: str | None
) -> None:
    get_customer_reply(httpserver)
    headers = {} if sent is None else {"X-Request-ID": sent.encode()}
    response = client.get("/v1/customers/1", headers=headers)
    assert response.status_code == 200
    generated = response.headers["x-request-id"]
    assert HEX_ID.match(generated)
    [(request, _)] = httpserver.log
    assert request.headers["X-Request-ID"] == generated


def test_query_parameters_reach_the_operation(client: httpx.Client, httpserver: HTTPServer) -> None:
    soap_answer(
        httpserver,
        f'<c:SearchCustomersResponse xmlns:c="{CRM}"><c:Customers>{CUSTOMER}</c:Customers>'
        "<c:Total>1</c:Total></c:SearchCustomersResponse>",
    )
    response = client.get("/v1/customers", params={"name": "</Name><x>"})
    assert response.json() == {"total": 1, "names": ["Ada Lovelace"]}
    [(request, _)] = httpserver.log
    assert etree.fromstring(request.get_data()).findtext(f".//{{{CRM}}}Name") == "</Name><x>"


def test_empty_search_answers_an_empty_array(client: httpx.Client, httpserver: HTTPServer) -> None:
    soap_answer(
        httpserver,
        f'<c:SearchCustomersResponse xmlns:c="{CRM}"><c:Customers/><c:Total>0</c:Total>'
        "</c:SearchCustomersResponse>",
    )
    assert client.get("/v1/customers").json() == {"total": 0, "names": []}


def test_post_answers_the_mapping_status(client: httpx.Client, httpserver: HTTPServer) -> None:
    soap_answer(
        httpserver,
        wrapped("CreateCustomer", CUSTOMER),
    )
    response = client.post("/v1/customers", json=NEW_CUSTOMER)
    assert (response.status_code, response.json()) == (201, 1)


def test_soap_fault_is_a_problem_with_the_mapped_status(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    soap_answer(httpserver, NOT_FOUND, status=500)
    response = client.get("/v1/customers/42")
    body = problem(response, 404, "soap-fault")
    assert body["detail"] == "Customer 42 not found"
    assert body["fault"]["code"] == "Client"
    assert list(body["fault"]["detail"]) == ["CustomerNotFound"]
    assert response.headers["x-facade-backend"] == "legacy"


def test_html_page_never_reaches_the_client(client: httpx.Client, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_data(
        HTML_PAGE, status=503, content_type="text/html"
    )
    response = client.get("/v1/customers/1")
    body = problem(response, 502, "backend-html-response")
    assert body["backend_status"] == 503
    for secret in ("Proxy error", "hunter2", "crm-db-01", "<html"):
        assert secret not in response.text
    assert response.headers["x-facade-backend"] == "legacy"


def test_malformed_reply(client: httpx.Client, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_data("<oops", content_type="text/xml")
    body = problem(client.get("/v1/customers/1"), 502, "backend-malformed-xml")
    assert "<oops" not in body["detail"]


def test_timeout_is_504(client: httpx.Client, httpserver: HTTPServer) -> None:
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(2)
        return Response("", status=500)

    httpserver.expect_request("/crm").respond_with_handler(slow)
    try:
        response = client.get("/v1/slow/1")
    finally:
        release.set()
    body = problem(response, 504, "backend-timeout")
    assert body["detail"] == "The backend did not answer within 0.2 s"


def test_unreachable_backend_is_502(client: httpx.Client) -> None:
    body = problem(client.get("/v1/lost/1"), 502, "backend-unreachable")
    assert body["detail"] == "The backend could not be reached"


def test_an_unreachable_backend_is_logged_with_its_origin_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    document = mapping("GET", "/v1/lost/{id}", "GetCustomer", {"CustomerId": "path.id"})
    document["legacy"]["address"] = f"http://ops:hunter2@127.0.0.1:{port}/crm/secret-path"
    (tmp_path / "lost.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    registry = WsdlRegistry(ROOT / "wsdl")
    app = create_app(build_route_table(load_mappings(tmp_path, {}), registry), registry)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as http:
        problem(http.get("/v1/lost/1"), 502, "backend-unreachable")
    [record] = [r for r in caplog.records if r.getMessage().startswith("backend failure")]
    fields = record.__dict__["fields"]
    assert fields == {
        "status": 502,
        "side": "legacy",
        "origin": f"http://127.0.0.1:{port}",
    }
    assert "hunter2" not in caplog.text and "secret-path" not in caplog.text


# Requests the facade refuses before calling the backend


def test_invalid_path_value_is_422(client: httpx.Client, httpserver: HTTPServer) -> None:
    body = problem(client.get("/v1/customers/abc"), 422, "invalid-request")
    assert "path.id" in [error["field"] for error in body["errors"]]
    assert httpserver.log == []


def test_unknown_body_field_is_422(client: httpx.Client, httpserver: HTTPServer) -> None:
    response = client.post("/v1/customers", json={"Name": "Alan", "Admin": True})
    body = problem(response, 422, "invalid-request")
    fields = [error["field"] for error in body["errors"]]
    assert "body.Admin" in fields
    assert httpserver.log == []


def test_invalid_json_is_422(client: httpx.Client) -> None:
    response = client.post(
        "/v1/customers", content=b'{"Name": ', headers={"Content-Type": "application/json"}
    )
    body = problem(response, 422, "invalid-request")
    assert body["errors"][0]["field"] == "body"
    assert body["errors"][0]["message"].startswith("is not valid JSON")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_non_json_body_is_415(client: httpx.Client, content_type: str) -> None:
    response = client.post(
        "/v1/customers", content=b"Name=Alan", headers={"Content-Type": content_type}
    )
    problem(response, 415, "unsupported-media-type")


def test_json_suffix_media_types_are_json(client: httpx.Client, httpserver: HTTPServer) -> None:
    soap_answer(
        httpserver,
        wrapped("CreateCustomer", CUSTOMER),
    )
    content = orjson.dumps(NEW_CUSTOMER)
    response = client.post(
        "/v1/customers",
        content=content,
        headers={"Content-Type": "application/merge-patch+json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_too_large_body_is_413(client: httpx.Client, httpserver: HTTPServer) -> None:
    response = client.post("/v1/customers", json={"Name": "x" * MAX_BODY})
    body = problem(response, 413, "payload-too-large")
    assert str(MAX_BODY) in body["detail"]
    assert httpserver.log == []


def test_too_large_chunked_body_is_413(client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"Name": "'
        for _ in range(MAX_BODY // 100 + 1):
            yield b"x" * 100
        yield b'"}'

    response = client.post(
        "/v1/customers", content=chunks(), headers={"Content-Type": "application/json"}
    )
    problem(response, 413, "payload-too-large")


def test_unknown_path_is_a_404_problem(client: httpx.Client) -> None:
    body = problem(client.get("/v2/nothing/here"), 404, "not-found")
    assert body["detail"] == "No route matches /v2/nothing/here"


def test_wrong_method_is_a_405_listing_every_method_of_the_path(client: httpx.Client) -> None:
    response = client.put("/v1/customers/1", json={})
    body = problem(response, 405, "method-not-allowed")
    assert body["detail"] == "PUT is not allowed here; use GET, HEAD, DELETE"
    assert response.headers["allow"] == "GET, HEAD, DELETE"
    assert "x-facade-backend" not in response.headers  # no backend saw it


def test_literal_path_segment_wins_over_a_parameter(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    soap_answer(httpserver, wrapped("SearchCustomers", "<c:Customers/><c:Total>0</c:Total>"))
    response = client.get("/v1/customers/search", params={"name": "x"})
    assert (response.status_code, response.json()) == (200, {"total": 0})
    # the path names the search resource; its methods decide, never the {id} route's
    problem(client.delete("/v1/customers/search"), 405, "method-not-allowed")
    httpserver.clear()
    get_customer_reply(httpserver)
    assert client.get("/v1/customers/1").json()["id"] == 1


def test_wrong_method_on_the_facades_own_routes_is_a_405_problem(client: httpx.Client) -> None:
    response = client.post("/healthz")
    problem(response, 405, "method-not-allowed")
    assert response.headers["allow"] == "GET, HEAD"


def test_head_is_served_wherever_get_is(client: httpx.Client, httpserver: HTTPServer) -> None:
    get_customer_reply(httpserver)
    response = client.head("/v1/customers/1")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-facade-backend"] == "legacy"
    response = client.head("/v1/customers")  # a path with POST and GET
    assert response.status_code != 405


def test_backend_header_only_when_a_backend_answered(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    invalid = client.get("/v1/customers/one")
    problem(invalid, 422, "invalid-request")
    assert "x-facade-backend" not in invalid.headers
    unreachable = client.get("/v1/lost/1")
    problem(unreachable, 502, "backend-unreachable")
    assert unreachable.headers["x-facade-backend"] == "legacy"
    missing = client.get("/v1/nothing/here")
    problem(missing, 404, "not-found")
    assert "x-facade-backend" not in missing.headers


# Operations endpoints


def test_healthz(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz(client: httpx.Client) -> None:
    """Ready, with each backend origin's state: lost-customer's backend is down (nothing
    listens at its address), so that route is named; the others serve."""
    response = client.get("/readyz")
    document = response.json()
    assert document["flags"] == {"store": "in-process (lost at exit)", "problem": None}
    assert (response.status_code, document["ready"], document["wsdls"]) == (
        200,
        True,
        ["crm.wsdl"],
    )
    assert document["degraded"] == ["lost-customer"]
    lost = next(b for b in document["backends"] if b["routes"] == ["lost-customer"])
    assert (lost["reachable"], lost["breaker"]) == (False, "off")


def test_metrics_count_each_route_by_side_and_status(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    def count(text: str, route: str, side: str, status: str) -> float:
        labels = f'route="{route}",side="{side}",status="{status}"'
        match = re.search(rf"^facade_requests_total\{{{labels}\}} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    before = client.get("/metrics").text
    get_customer_reply(httpserver)
    client.get("/v1/customers/1")
    client.get("/v1/customers/abc")
    client.get("/v1/lost/1")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    assert (
        count(after, "get-customer", "legacy", "200")
        == count(before, "get-customer", "legacy", "200") + 1
    )
    # refused before any backend was chosen: no side
    assert count(after, "get-customer", "-", "422") == count(before, "get-customer", "-", "422") + 1
    # an unreachable backend is the legacy side's failure
    assert count(after, "lost-customer", "legacy", "502") == (
        count(before, "lost-customer", "legacy", "502") + 1
    )
    assert "facade_request_duration_seconds_bucket" in after
    assert 'route="/metrics"' not in after


def _broken(request: MemoryRequest) -> Reply:
    """A network layer that fails in a way no handler expects."""
    raise RuntimeError("password=hunter2 at /srv/secret.py line 7")


def test_unexpected_error_is_a_500_problem_without_internals(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "get-customer.yaml").write_text(
        yaml.safe_dump(MAPPINGS["get-customer"]), encoding="utf-8"
    )
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(
        load_mappings(tmp_path, {"CRM_URL": "http://127.0.0.1:9/crm"}), registry
    )
    app = create_app(table, registry, transport=MemoryTransport(_broken))
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as http:
        response = http.get("/v1/customers/1", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "urn:facade:problem:internal-error"
    assert body["request_id"] == "boom-1"
    assert response.headers["x-request-id"] == "boom-1"
    for secret in ("hunter2", "secret.py", "Traceback", "RuntimeError"):
        assert secret not in response.text
    # the log line names the request, the error's type and where it was raised; its text
    # (which may quote a credential) and the traceback are only logged at DEBUG
    [line] = [r for r in caplog.records if r.getMessage() == "unexpected error"]
    fields = line.fields  # type: ignore[attr-defined]
    assert fields["request_id"] == "boom-1" and fields["error"] == "RuntimeError"
    assert "hunter2" not in caplog.text
