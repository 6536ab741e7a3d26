"""Mode new over HTTP: the facade under uvicorn, the new REST service a pytest-httpserver peer."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from facades import ONE_CALL_EACH, facade_for, legacy
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PROBLEM = "application/problem+json"
CUSTOMER = {"id": 1, "name": "Ada", "balance": "1234.50", "internal": "not for clients"}


def new_route(method: str, path: str, operation: str, request: dict[str, str], **new: Any) -> Any:
    return {
        "route": {"method": method, "path": path},
        "legacy": legacy(operation, request),
        "new": new,
        "migration": {"mode": "new", "fallback": False},  # the new side alone
    }


MAPPINGS = {
    "get-customer": new_route(
        "GET",
        "/v1/customers/{id}",
        "GetCustomer",
        {"CustomerId": "path.id"},
        url="${NEW_URL}/customers/{path.id}?expand={query.expand}",
        headers=["Authorization", "x-user-id"],
        response="{id: id, name: name, balance: balance}",
    )
    | {
        "legacy": legacy(
            "GetCustomer",
            {"CustomerId": "path.id"},
            response="Customer.{id: Id, name: Name, balance: Balance}",
        )
    },
    "create-customer": new_route(
        "POST", "/v1/customers", "CreateCustomer", {"Customer": "body"}, url="${NEW_URL}/customers"
    )
    | {"route": {"method": "POST", "path": "/v1/customers", "status": 201}},
    "slow-customer": new_route(
        "GET",
        "/v1/slow/{id}",
        "GetCustomer",
        {"CustomerId": "path.id"},
        url="${NEW_URL}/slow/{path.id}",
        timeout=0.3,
    ),
    "lost-customer": new_route(
        "GET",
        "/v1/lost/{id}",
        "GetCustomer",
        {"CustomerId": "path.id"},
        url="http://user:s3cret@127.0.0.1:${CLOSED_PORT}/customers/{path.id}",
    ),
}


@pytest.fixture(scope="module")
def base_url(
    make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    env = {"NEW_URL": make_httpserver.url_for("/api"), "CLOSED_PORT": str(closed_port())}
    # counts calls per request, and fails the backend on purpose test after test
    with facade_for(tmp_path_factory.mktemp("mappings"), MAPPINGS, env, ONE_CALL_EACH) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, trust_env=False) as http:
        yield http


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-facade-backend"] == "new"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:facade:problem:{slug}"
    return body


def test_answer_comes_from_the_new_service_shaped(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/1", query_string="expand=orders").respond_with_json(
        CUSTOMER
    )
    response = client.get("/v1/customers/1", params={"expand": "orders"})
    assert response.status_code == 200
    assert response.headers["x-facade-backend"] == "new"
    assert response.json() == {"id": 1, "name": "Ada", "balance": "1234.50"}
    [(request, _)] = httpserver.log
    assert request.method == "GET"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["X-Request-ID"] == response.headers["x-request-id"]


def test_only_allow_listed_headers_travel_and_hop_by_hop_never(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_json(CUSTOMER)
    sent = {
        "Authorization": "Bearer t0k3n",
        "X-User-Id": "u-7",
        "Cookie": "session=secret",
        "X-Other": "nope",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "TE": "trailers",
        "Upgrade": "h2c",
        "Keep-Alive": "timeout=99",
    }
    assert client.get("/v1/customers/1", headers=sent).status_code == 200
    [(request, _)] = httpserver.log
    received = {k.lower(): v for k, v in request.headers.items()}
    assert received["authorization"] == "Bearer t0k3n"
    assert received["x-user-id"] == "u-7"
    for name in ("cookie", "x-other", "proxy-authorization", "te", "upgrade", "keep-alive"):
        assert name not in received, name
    assert received["host"] == f"localhost:{httpserver.port}"


def test_a_write_sends_the_clients_json_and_answers_with_the_routes_status(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers", method="POST").respond_with_json(
        {"id": 9}, status=200
    )
    body = {
        "Name": "Alan",
        "Address": {"Street": "s", "City": "c", "PostalCode": "p", "Country": "GB"},
    }
    response = client.post("/v1/customers", json=body)
    assert response.status_code == 201
    assert response.headers["x-facade-backend"] == "new"
    assert response.json() == {"id": 9}
    [(request, _)] = httpserver.log
    assert request.headers["Content-Type"] == "application/json"
    assert orjson.loads(request.get_data()) == body


def test_a_4xx_json_answer_passes_through_as_problem_json(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/9").respond_with_json(
        {"title": "Not found", "detail": "No customer 9", "code": "C404"}, status=404
    )
    body = problem(client.get("/v1/customers/9"), 404, "backend-rejected")
    assert body["detail"] == "No customer 9"
    assert body["backend"]["code"] == "C404"


def test_a_4xx_page_that_is_not_json_is_not_forwarded(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/9").respond_with_data(
        "<html>conflict at db-01.internal</html>", status=409, content_type="text/html"
    )
    response = client.get("/v1/customers/9")
    body = problem(response, 409, "backend-rejected")
    assert "backend" not in body
    assert "db-01" not in response.text


@pytest.mark.parametrize(
    ("reply", "slug"),
    [
        (
            Response('{"error": "boom"}', status=503, content_type="application/json"),
            "backend-http-error",
        ),
        (Response("<html>oops</html>", status=200, content_type="text/html"), "backend-not-json"),
        (
            Response("", status=302, headers={"Location": "http://127.0.0.1:1/admin"}),
            "backend-http-error",
        ),
    ],
    ids=["5xx", "non-json-2xx", "redirect-not-followed"],
)
def test_new_side_failures_are_502_with_side_new(
    client: httpx.Client, httpserver: HTTPServer, reply: Response, slug: str
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_response(reply)
    response = client.get("/v1/customers/1")
    body = problem(response, 502, slug)
    assert "boom" not in response.text and "oops" not in response.text
    assert len(httpserver.log) == 1
    if slug == "backend-http-error":
        assert body["backend_status"] == reply.status_code


def test_a_slow_new_service_is_a_504_at_its_timeout(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    released = threading.Event()

    def slow(request: Request) -> Response:
        released.wait(10)  # the service answers only once the client has the facade's answer
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/api/slow/1").respond_with_handler(slow)
    response = client.get("/v1/slow/1")
    released.set()
    problem(response, 504, "backend-timeout")


def test_a_refused_connection_is_a_502_with_side_new(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    problem(client.get("/v1/lost/1"), 502, "backend-unreachable")
    [failure] = [r for r in caplog.records if r.getMessage().startswith("backend failure")]
    fields = failure.fields  # type: ignore[attr-defined]
    assert fields["side"] == "new"
    assert fields["origin"].startswith("http://127.0.0.1:")  # the address's credentials never
    assert "s3cret" not in caplog.text


def test_a_4xx_keeps_the_headers_its_status_needs(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/9").respond_with_json(
        {"detail": "log in"},
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="new"', "X-Internal": "db-01"},
    )
    response = client.get("/v1/customers/9")
    problem(response, 401, "backend-rejected")
    assert response.headers["www-authenticate"] == 'Bearer realm="new"'
    assert "x-internal" not in response.headers


def test_a_write_answered_with_an_empty_201_is_null(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers", method="POST").respond_with_data("", status=201)
    body = {
        "Name": "Alan",
        "Address": {"Street": "s", "City": "c", "PostalCode": "p", "Country": "GB"},
    }
    response = client.post("/v1/customers", json=body)
    assert (response.status_code, response.content) == (201, b"null")


def test_metrics_record_side_new(client: httpx.Client, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_json(CUSTOMER)
    assert client.get("/v1/customers/1").status_code == 200
    metrics = client.get("/metrics").text
    assert 'facade_requests_total{route="get-customer",side="new",status="200"}' in metrics


def test_an_answer_that_breaks_the_contract_is_sent_and_counted(
    client: httpx.Client, httpserver: HTTPServer
) -> None:
    counter = 'facade_contract_violations_total{route="get-customer",side="new"}'

    def count() -> float:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith(counter):
                return float(line.split()[-1])
        return 0.0

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("facade.app")
    logger.addHandler(handler)
    before = count()
    httpserver.expect_request("/api/customers/1").respond_with_json(
        {"id": "seven", "name": "Ada", "balance": "1.00"}
    )
    try:
        response = client.get("/v1/customers/1")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 200
    assert response.json()["id"] == "seven"
    assert count() == before + 1
    [record] = [r for r in records if "response schema" in r.getMessage()]
    fields = record.fields  # type: ignore[attr-defined]
    assert (fields["route"], fields["side"]) == ("get-customer", "new")
    assert [v["pointer"] for v in fields["violations"]] == ["/id"]
    httpserver.expect_request("/api/customers/2").respond_with_json(
        {"id": 2, "name": "Ada", "balance": "1.00"}
    )
    assert client.get("/v1/customers/2").status_code == 200
    assert count() == before + 1
