"""Mode shadow over HTTP: the facade under uvicorn, legacy a SOAP peer and new a REST peer,
both pytest-httpserver servers on 127.0.0.1. The client always gets legacy's answer, as fast
as legacy gives it; the comparison happens afterwards and is read from the shadow records."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pytest_httpserver import HTTPServer
from servers import PromptHTTPServer, serve_in_thread
from starlette.applications import Starlette
from werkzeug import Request, Response
from wsdls import envelope

from facade.app import create_app
from facade.mapping.loader import load_mappings
from facade.migration.records import REDACTED
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parents[2]
CRM = "http://example.com/crm"
LEGACY_BODY = {"id": 1, "name": "Ada Lovelace", "balance": "1234.50"}
SLOW_SECONDS = 2.0


def customer(id: int = 1, name: str = "Ada Lovelace", balance: str = "1234.50") -> str:
    return (
        f"<c:Customer><c:Id>{id}</c:Id><c:Name>{name}</c:Name><c:Email>a@example.com</c:Email>"
        f"<c:Status>active</c:Status><c:Balance>{balance}</c:Balance>"
        "<c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt><c:Address><c:Street>x</c:Street>"
        "<c:City>London</c:City><c:PostalCode>p</c:PostalCode><c:Country>GB</c:Country>"
        "</c:Address></c:Customer>"
    )


def soap(operation: str, inner: str) -> str:
    return envelope(f'<c:{operation}Response xmlns:c="{CRM}">{inner}</c:{operation}Response>')


def route(
    path: str,
    mode: str = "shadow",
    method: str = "GET",
    operation: str = "GetCustomer",
    request: dict[str, str] | None = None,
    response: str = "Customer.{id: Id, name: Name, balance: Balance}",
    new_path: str = "/api/customers/{path.id}",
    **migration: Any,
) -> dict[str, Any]:
    return {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": operation,
            "address": "${CRM_URL}",
            "request": request if request is not None else {"CustomerId": "path.id"},
            "response": response,
        },
        "new": {"url": "${NEW_URL}" + new_path, "timeout": 5},
        "migration": {"mode": mode, **migration},
    }


SEARCH = {
    "operation": "SearchCustomers",
    "request": {"Name": "query.name"},
    "response": "{total: Total, customers: Customers.Customer[].{id: Id, name: Name}}",
    "new_path": "/api/customers",
}
CREATE = {
    "method": "POST",
    "operation": "CreateCustomer",
    "request": {"Customer": "body"},
    "response": "Customer.{id: Id, name: Name, balance: Balance}",
    "new_path": "/api/customers",
}
MAPPINGS = {
    "legacy-customer": route("/v1/legacy/{id}", mode="legacy"),
    "shadow-customer": route("/v1/shadow/{id}"),
    "ignoring-customer": route(
        "/v1/ignoring/{id}", compare={"ignore": ["name"], "redact": ["balance"]}
    ),
    "sorted-search": route("/v1/sorted", compare={"sort": {"customers": "id"}}, **SEARCH),
    "unsorted-search": route("/v1/unsorted", **SEARCH),
    "baseline-customer": route("/v1/baseline/{id}", compare={"baseline": True}),
    "create-customer": route("/v1/customers", **CREATE),
    "create-shadowed": route("/v1/customers-shadowed", shadow_writes=True, **CREATE),
}
NEW_CUSTOMER = {
    "Name": "Alan",
    "Address": {"Street": "s", "City": "c", "PostalCode": "p", "Country": "GB"},
}


@pytest.fixture(scope="module")
def new_server() -> Iterator[HTTPServer]:
    """The new REST service; threaded, so a slow answer does not hold up the next one."""
    server = PromptHTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def new(new_server: HTTPServer) -> HTTPServer:
    new_server.clear()
    return new_server


def facade(legacy: HTTPServer, new: HTTPServer, folder: Path, settings: Settings) -> Starlette:
    for name, document in MAPPINGS.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {"CRM_URL": legacy.url_for("/crm"), "NEW_URL": new.url_for("").rstrip("/")}
    registry = WsdlRegistry(ROOT / "wsdl")
    return create_app(build_route_table(load_mappings(folder, env), registry), registry, settings)


@pytest.fixture(scope="module")
def served(
    make_httpserver: HTTPServer, new_server: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Starlette, str]]:
    app = facade(make_httpserver, new_server, tmp_path_factory.mktemp("mappings"), Settings())
    with serve_in_thread(app) as url:
        yield app, url


@pytest.fixture
def client(served: tuple[Starlette, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served[1], trust_env=False) as http:
        yield http


@pytest.fixture
def legacy(httpserver: HTTPServer) -> HTTPServer:
    """The legacy SOAP peer answering GetCustomer with LEGACY_BODY's customer."""
    answer = soap("GetCustomer", customer())
    httpserver.expect_request("/crm").respond_with_data(answer, content_type="text/xml")
    return httpserver


def figures(app: Starlette, name: str) -> dict[str, Any]:
    empty = {"comparisons": 0, "matches": 0, "mismatches": 0, "drops": 0, "recent_diffs": []}
    snapshot: dict[str, Any] = app.state.shadow_records.snapshot()
    return snapshot.get(name, empty | {"errors": {"legacy": 0, "new": 0}})


def settled(app: Starlette, name: str, comparisons: int, timeout: float = 5.0) -> dict[str, Any]:
    """The route's figures once it has made `comparisons` comparisons."""
    deadline = time.monotonic() + timeout
    while figures(app, name)["comparisons"] < comparisons:
        assert time.monotonic() < deadline, figures(app, name)
        time.sleep(0.01)
    return figures(app, name)


def timed(client: httpx.Client, path: str) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.get(path)
    return time.perf_counter() - started, response


def test_the_client_gets_legacy_at_legacy_speed_however_slow_new_is(
    client: httpx.Client, served: tuple[Starlette, str], legacy: HTTPServer, new: HTTPServer
) -> None:
    reference = client.get("/v1/legacy/1")
    arrived = threading.Event()

    def slow(request: Request) -> Response:
        arrived.set()
        time.sleep(SLOW_SECONDS)
        return Response('{"id": 1}', content_type="application/json")

    new.expect_request("/api/customers/1").respond_with_json({"id": 1})
    fast = [timed(client, "/v1/shadow/1") for _ in range(3)]
    new.clear()
    new.expect_request("/api/customers/1").respond_with_handler(slow)
    slowed = [timed(client, "/v1/shadow/1") for _ in range(3)]

    assert arrived.wait(5), "the slow new side was never called"
    worst_fast = max(seconds for seconds, _ in fast)
    worst_slow = max(seconds for seconds, _ in slowed)
    assert worst_slow < 0.5, (worst_fast, worst_slow)
    assert worst_slow < worst_fast + 0.4, (worst_fast, worst_slow)
    for _, response in fast + slowed:
        assert response.status_code == reference.status_code == 200
        assert response.content == reference.content
        assert response.headers["x-facade-backend"] == "legacy"
    assert reference.json() == LEGACY_BODY


def test_a_failing_new_side_is_an_error_and_the_client_never_sees_it(
    client: httpx.Client, served: tuple[Starlette, str], legacy: HTTPServer, new: HTTPServer
) -> None:
    app = served[0]
    before = figures(app, "shadow-customer")
    new.expect_request("/api/customers/1").respond_with_data("boom", status=500)
    response = client.get("/v1/shadow/1")
    assert (response.status_code, response.json()) == (200, LEGACY_BODY)
    after = settled(app, "shadow-customer", before["comparisons"] + 1)
    assert after["errors"]["new"] == before["errors"]["new"] + 1


def test_a_match_a_mismatch_and_the_metrics(
    client: httpx.Client, served: tuple[Starlette, str], legacy: HTTPServer, new: HTTPServer
) -> None:
    app = served[0]
    before = figures(app, "shadow-customer")
    new.expect_ordered_request("/api/customers/1").respond_with_json(LEGACY_BODY)
    # 1234.5 is legacy's "1234.50", so the value is no difference; but the route's contract
    # says the balance is a string, which the new side breaks
    new.expect_ordered_request("/api/customers/1").respond_with_json(
        {"id": 1, "name": "Ada", "balance": 1234.5}
    )
    client.get("/v1/shadow/1", headers={"x-request-id": "first"})
    settled(app, "shadow-customer", before["comparisons"] + 1)
    client.get("/v1/shadow/1", headers={"x-request-id": "second"})
    after = settled(app, "shadow-customer", before["comparisons"] + 2)
    assert after["matches"] == before["matches"] + 1
    assert after["mismatches"] == before["mismatches"] + 1
    [name, contract] = after["recent_diffs"][-2:]
    assert name == {"path": "name", "legacy": "Ada Lovelace", "new": "Ada", "request_id": "second"}
    assert (contract["path"], contract["legacy"]) == ("(contract)/balance", None)
    metrics = client.get("/metrics").text
    assert 'facade_shadow_comparisons_total{result="match",route="shadow-customer"}' in metrics
    assert 'facade_shadow_comparisons_total{result="mismatch",route="shadow-customer"}' in metrics


def test_a_new_answer_breaking_the_contract_shows_where(
    client: httpx.Client, served: tuple[Starlette, str], legacy: HTTPServer, new: HTTPServer
) -> None:
    app = served[0]
    before = figures(app, "shadow-customer")
    new.expect_request("/api/customers/1").respond_with_json(
        {"id": "one", "name": "Ada Lovelace", "balance": "1234.50"}
    )
    client.get("/v1/shadow/1", headers={"x-request-id": "typed"})
    found = settled(app, "shadow-customer", before["comparisons"] + 1)["recent_diffs"]
    paths = [d["path"] for d in found if d["request_id"] == "typed"]
    assert paths == ["id", "(contract)/id"]


def test_ignored_fields_do_not_count_and_redacted_ones_are_hidden(
    client: httpx.Client, served: tuple[Starlette, str], legacy: HTTPServer, new: HTTPServer
) -> None:
    app = served[0]
    new.expect_ordered_request("/api/customers/1").respond_with_json(
        {"id": 1, "name": "Somebody else", "balance": "1234.50"}
    )
    new.expect_ordered_request("/api/customers/1").respond_with_json(
        {"id": 1, "name": "Ada", "balance": "99"}
    )
    client.get("/v1/ignoring/1")
    assert settled(app, "ignoring-customer", 1)["matches"] == 1
    client.get("/v1/ignoring/1")
    found = settled(app, "ignoring-customer", 2)
    assert [(d["path"], d["legacy"], d["new"]) for d in found["recent_diffs"]] == [
        ("balance", REDACTED, REDACTED)
    ]


def search_reply(*customers: tuple[int, str]) -> str:
    inner = "".join(customer(id, name) for id, name in customers)
    return soap("SearchCustomers", f"<c:Customers>{inner}</c:Customers><c:Total>2</c:Total>")


def test_arrays_sorted_by_a_key_before_comparing(
    client: httpx.Client, served: tuple[Starlette, str], httpserver: HTTPServer, new: HTTPServer
) -> None:
    app = served[0]
    httpserver.expect_request("/crm").respond_with_data(
        search_reply((2, "Bo"), (1, "Al")), content_type="text/xml"
    )
    in_another_order = {"total": 2, "customers": [{"id": 1, "name": "Al"}, {"id": 2, "name": "Bo"}]}
    new.expect_request("/api/customers").respond_with_json(in_another_order)
    assert client.get("/v1/sorted").json()["customers"][0] == {"id": 2, "name": "Bo"}
    client.get("/v1/unsorted")
    assert settled(app, "sorted-search", 1)["matches"] == 1
    assert settled(app, "unsorted-search", 1)["mismatches"] == 1


def test_a_baseline_ignores_what_legacy_itself_changes(
    client: httpx.Client, served: tuple[Starlette, str], httpserver: HTTPServer, new: HTTPServer
) -> None:
    app = served[0]
    calls = iter(range(1, 100))

    def changing(request: Request) -> Response:
        # every legacy answer carries another name (think of a timestamp), same balance
        answer = soap("GetCustomer", customer(name=f"Ada {next(calls)}"))
        return Response(answer, content_type="text/xml")

    httpserver.expect_request("/crm").respond_with_handler(changing)
    new.expect_request("/api/customers/1").respond_with_json(
        {"id": 1, "name": "Ada 0", "balance": "1.00"}
    )
    client.get("/v1/baseline/1")
    found = settled(app, "baseline-customer", 1)
    assert len(httpserver.log) == 2  # legacy called twice: the client's call and the baseline
    assert [(d["path"], d["legacy"], d["new"]) for d in found["recent_diffs"]] == [
        ("balance", "1234.50", "1.00")
    ]


def test_writes_are_not_shadowed_unless_the_route_opts_in(
    client: httpx.Client, served: tuple[Starlette, str], httpserver: HTTPServer, new: HTTPServer
) -> None:
    app = served[0]
    httpserver.expect_request("/crm").respond_with_data(
        soap("CreateCustomer", customer()), content_type="text/xml"
    )
    new.expect_request("/api/customers", method="POST").respond_with_json(LEGACY_BODY)
    assert client.post("/v1/customers", json=NEW_CUSTOMER).json() == LEGACY_BODY
    assert client.post("/v1/customers-shadowed", json=NEW_CUSTOMER).json() == LEGACY_BODY
    assert settled(app, "create-shadowed", 1)["matches"] == 1
    assert len(new.log) == 1
    assert "create-customer" not in app.state.shadow_records.snapshot()


def test_a_full_queue_drops_and_counts_without_slowing_the_client(
    make_httpserver: HTTPServer, legacy: HTTPServer, new: HTTPServer, tmp_path: Path
) -> None:
    release = threading.Event()

    def blocked(request: Request) -> Response:
        release.wait(10)
        return Response('{"id": 1}', content_type="application/json")

    new.expect_request("/api/customers/1").respond_with_handler(blocked)
    settings = Settings(shadow_queue=1, shadow_concurrency=1)
    app = facade(make_httpserver, new, tmp_path, settings)
    try:
        with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as http:
            timings = [timed(http, "/v1/shadow/1") for _ in range(6)]
            # one shadow in flight and one waiting at most: the others were dropped
            deadline = time.monotonic() + 5
            while (drops := figures(app, "shadow-customer")["drops"]) < 4:
                assert time.monotonic() < deadline, drops
                time.sleep(0.01)
            assert drops <= 5
            assert all(r.content == http.get("/v1/legacy/1").content for _, r in timings)
            assert max(seconds for seconds, _ in timings) < 0.5
            assert f'facade_shadow_drops_total{{route="shadow-customer"}} {drops}.0' in (
                http.get("/metrics").text
            )
            release.set()
    finally:
        release.set()
