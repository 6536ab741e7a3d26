"""Canary and fallback over HTTP: the facade under uvicorn, the legacy SOAP service and the
new REST service pytest-httpserver peers on 127.0.0.1."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from facades import ONE_CALL_EACH as ONE
from facades import facade_for
from pytest_httpserver import HTTPServer
from servers import PromptHTTPServer
from test_app import CUSTOMER, NEW_CUSTOMER, closed_port, wrapped
from werkzeug import Request, Response
from wsdls import envelope

from facade.migration.routing import side_for

CALLERS = [f"user-{n}" for n in range(1000)]
FROM_NEW = {"id": 1, "name": "Ada (new)"}
FROM_LEGACY = {"id": 1, "name": "Ada Lovelace"}


def route(method: str, path: str, operation: str, request: dict[str, str], **more: Any) -> Any:
    """A route of the demo CRM over both peers; `more` holds its new and migration sections."""
    return {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": operation,
            "address": "${CRM_URL}",
            "request": request,
            "response": "Customer.{id: Id, name: Name}",
        },
        **more,
    }


def get_route(path: str, url: str, **migration: Any) -> Any:
    new = {"url": url, "timeout": 0.3}
    return route(
        "GET", path, "GetCustomer", {"CustomerId": "path.id"}, new=new, migration=migration
    )


def write_route(path: str, **migration: Any) -> Any:
    new = {"url": "${NEW_URL}/customers"}
    return route("POST", path, "CreateCustomer", {"Customer": "body"}, new=new, migration=migration)


def canary_mappings(percent: float) -> dict[str, Any]:
    user = 'headers."x-user-id"'
    return {
        "by-user": get_route(
            "/v1/by-user/{id}",
            "${NEW_URL}/customers/{path.id}",
            mode="canary",
            percent=percent,
            sticky=user,
        ),
        "by-address": get_route(
            "/v1/by-address/{id}", "${NEW_URL}/customers/{path.id}", mode="canary", percent=50
        ),
        "falls-back": get_route(
            "/v1/falls-back/{id}", "${NEW_URL}/customers/{path.id}", mode="new"
        ),
        "canary-falls-back": get_route(
            "/v1/canary-falls-back/{id}",
            "${NEW_URL}/customers/{path.id}",
            mode="canary",
            percent=100,
            sticky=user,
        ),
        "no-fallback": get_route(
            "/v1/no-fallback/{id}", "${NEW_URL}/customers/{path.id}", mode="new", fallback=False
        ),
        "refused": get_route(
            "/v1/refused/{id}", "http://127.0.0.1:${CLOSED_PORT}/customers/{path.id}", mode="new"
        ),
        "create": write_route("/v1/customers", mode="new"),
        "create-falls-back": write_route("/v1/accounts", mode="new", fallback=True),
    }


def soap_reply(request: Request) -> Response:
    operation = "CreateCustomer" if b"CreateCustomer" in request.get_data() else "GetCustomer"
    return Response(envelope(wrapped(operation, CUSTOMER)), content_type="text/xml; charset=utf-8")


@pytest.fixture(scope="module")
def legacy_peer() -> Iterator[HTTPServer]:
    server = PromptHTTPServer(host="127.0.0.1")
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def crm(legacy_peer: HTTPServer) -> Iterator[HTTPServer]:
    """The legacy SOAP service, answering every call, its log fresh for each test."""
    legacy_peer.expect_request("/crm", method="POST").respond_with_handler(soap_reply)
    yield legacy_peer
    legacy_peer.clear()


@pytest.fixture(scope="module")
def facades(
    make_httpserver: HTTPServer,
    legacy_peer: HTTPServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[float, str]]:
    """Three facades over the same peers, that differ only in by-user's percentage."""
    env = {
        "NEW_URL": make_httpserver.url_for("/api"),
        "CRM_URL": legacy_peer.url_for("/crm"),
        "CLOSED_PORT": str(closed_port()),
    }
    with (
        facade_for(tmp_path_factory.mktemp("at10"), canary_mappings(10), env, ONE) as at10,
        facade_for(tmp_path_factory.mktemp("at30"), canary_mappings(30), env, ONE) as at30,
        facade_for(tmp_path_factory.mktemp("at60"), canary_mappings(60), env, ONE) as at60,
    ):
        yield {10: at10, 30: at30, 60: at60}


@pytest.fixture
def client(facades: dict[float, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=facades[30], trust_env=False) as http:
        yield http


@pytest.fixture
def new_side(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/api/customers/1").respond_with_json(FROM_NEW)
    return httpserver


def sides(base_url: str, callers: list[str]) -> dict[str, str]:
    """The X-Facade-Backend each caller got from by-user, checked against its answer."""
    found = {}
    with httpx.Client(base_url=base_url, trust_env=False) as http:
        for caller in callers:
            response = http.get("/v1/by-user/1", headers={"x-user-id": caller})
            assert response.status_code == 200, response.text
            side = response.headers["x-facade-backend"]
            assert response.json() == (FROM_NEW if side == "new" else FROM_LEGACY)
            found[caller] = side
    return found


def fallbacks(client: httpx.Client, route: str) -> float:
    counter = f'facade_fallbacks_total{{route="{route}"}}'
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(counter):
            return float(line.split()[-1])
    return 0.0


# Canary: the split, stickiness and movement


def new_callers(percent: float, callers: list[str]) -> set[str]:
    return {c for c in callers if side_for("canary", percent, "by-user", c) == "new"}


@pytest.mark.usefixtures("crm", "new_side")
def test_the_split_follows_the_percentage_over_1000_callers(facades: dict[float, str]) -> None:
    found = sides(facades[30], CALLERS)
    on_new = {caller for caller, side in found.items() if side == "new"}
    assert abs(len(on_new) - 300) <= 50, len(on_new)
    assert on_new == new_callers(30, CALLERS)  # the bucket the pure function gives


@pytest.mark.usefixtures("crm", "new_side")
def test_callers_stick_and_a_higher_percentage_only_moves_them_to_new(
    facades: dict[float, str],
) -> None:
    callers = CALLERS[:300]
    on_new = {}
    for percent, url in facades.items():  # three facades: three processes' worth of state
        first = sides(url, callers)
        assert sides(url, callers[:100]) == {c: first[c] for c in callers[:100]}
        on_new[percent] = {c for c, side in first.items() if side == "new"}
    assert on_new[10] < on_new[30] < on_new[60]
    assert on_new[60] == new_callers(60, callers)


@pytest.mark.usefixtures("crm", "new_side")
def test_a_caller_without_a_sticky_value_is_served_by_legacy(client: httpx.Client) -> None:
    for _ in range(5):
        response = client.get("/v1/by-user/1")
        assert response.headers["x-facade-backend"] == "legacy"
        assert response.json() == FROM_LEGACY


@pytest.mark.usefixtures("crm", "new_side")
def test_by_default_the_client_address_is_the_caller(client: httpx.Client) -> None:
    expected = side_for("canary", 50, "by-address", "127.0.0.1")
    got = {client.get("/v1/by-address/1").headers["x-facade-backend"] for _ in range(10)}
    assert got == {expected}
    forged = client.get("/v1/by-address/1", headers={"x-forwarded-for": "10.9.8.7"})
    assert forged.headers["x-facade-backend"] == expected  # X-Forwarded-For is not read


# Fallback to legacy


def failing(status: int) -> Response:
    return Response('{"error": "down"}', status=status, content_type="application/json")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_from_new_falls_back_to_legacy_and_is_counted(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer, status: int
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_response(failing(status))
    before = fallbacks(client, "falls-back")
    response = client.get("/v1/falls-back/1")
    assert response.status_code == 200
    assert response.headers["x-facade-backend"] == "legacy-fallback"
    assert response.json() == FROM_LEGACY
    assert (len(httpserver.log), len(crm.log)) == (1, 1)
    assert fallbacks(client, "falls-back") == before + 1
    metrics = client.get("/metrics").text
    assert 'facade_requests_total{route="falls-back",side="legacy-fallback",status="200"}' in (
        metrics
    )


def test_a_fallback_is_logged_with_its_route(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_response(failing(503))
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("facade.app")
    logger.addHandler(handler)
    try:
        response = client.get("/v1/falls-back/1", headers={"X-Request-ID": "fb-1"})
    finally:
        logger.removeHandler(handler)
    assert response.headers["x-facade-backend"] == "legacy-fallback"
    [record] = [r for r in records if "legacy answers instead" in r.getMessage()]
    assert record.fields == {"route": "falls-back", "side": "new"}  # type: ignore[attr-defined]


def test_a_canary_caller_on_new_falls_back_too(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_response(failing(503))
    response = client.get("/v1/canary-falls-back/1", headers={"x-user-id": "u-1"})
    assert response.headers["x-facade-backend"] == "legacy-fallback"
    assert response.json() == FROM_LEGACY
    assert len(crm.log) == 1


def test_a_timeout_of_new_falls_back_within_a_fresh_legacy_deadline(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer
) -> None:
    released = threading.Event()

    def slow(request: Request) -> Response:
        released.wait(10)  # new answers only once the client has the facade's answer
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/api/customers/1").respond_with_handler(slow)
    response = client.get("/v1/falls-back/1")  # new's timeout is 0.3 s
    released.set()
    assert response.headers["x-facade-backend"] == "legacy-fallback"
    assert response.json() == FROM_LEGACY
    started = time.monotonic()
    while not httpserver.log and time.monotonic() - started < 5:
        time.sleep(0.05)  # the peer serves one request at a time: let the slow one end


@pytest.mark.usefixtures("crm")
def test_a_refused_connection_to_new_falls_back(client: httpx.Client) -> None:
    before = fallbacks(client, "refused")
    response = client.get("/v1/refused/1")
    assert (response.status_code, response.headers["x-facade-backend"]) == (
        200,
        "legacy-fallback",
    )
    assert fallbacks(client, "refused") == before + 1


def test_a_4xx_from_new_is_the_answer_not_a_fallback(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_json(
        {"detail": "No customer 1"}, status=404
    )
    response = client.get("/v1/falls-back/1")
    assert (response.status_code, response.headers["x-facade-backend"]) == (404, "new")
    assert crm.log == []


def test_a_route_that_turns_fallback_off_answers_with_the_failure(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_response(failing(503))
    response = client.get("/v1/no-fallback/1")
    assert (response.status_code, response.headers["x-facade-backend"]) == (502, "new")
    assert crm.log == []


def test_a_write_does_not_fall_back_by_default(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers", method="POST").respond_with_response(failing(503))
    before = fallbacks(client, "create")
    response = client.post("/v1/customers", json=NEW_CUSTOMER)
    assert (response.status_code, response.headers["x-facade-backend"]) == (502, "new")
    assert crm.log == []  # the write is never repeated on legacy
    assert fallbacks(client, "create") == before


def test_a_write_falls_back_when_its_mapping_says_so(
    client: httpx.Client, crm: HTTPServer, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers", method="POST").respond_with_response(failing(503))
    response = client.post("/v1/accounts", json=NEW_CUSTOMER)
    assert (response.status_code, response.headers["x-facade-backend"]) == (
        200,
        "legacy-fallback",
    )
    assert len(crm.log) == 1


def test_a_failing_fallback_says_legacy_fallback_failed(
    client: httpx.Client, legacy_peer: HTTPServer, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_response(failing(503))
    legacy_peer.expect_request("/crm", method="POST").respond_with_data(
        "<html>down</html>", status=503, content_type="text/html"
    )
    try:
        response = client.get("/v1/falls-back/1")
    finally:
        legacy_peer.clear()
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-facade-backend"] == "legacy-fallback"
