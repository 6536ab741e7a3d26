"""Invalidation, admin purge, stale-while-revalidate and shadow mode against the running
facade: the legacy SOAP peer counts its calls per operation, and its read answers change
with every successful write, so a stale entry shows."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from bursts import Answer, burst_client
from facades import sample
from pytest_httpserver import HTTPServer
from servers import PromptHTTPServer, serve_in_thread
from starlette.applications import Starlette
from typer.testing import CliRunner
from werkzeug import Request, Response
from wsdls import envelope

from facade.app import create_app
from facade.cache.store import Entry, MemoryStore, Params
from facade.cli import app as cli
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry
from facade.types import RouteName

ROOT = Path(__file__).resolve().parents[2]
CRM = "http://example.com/crm"
TOKEN = "purge-token-7"
OPERATION = re.compile(rb"<(?:\w+:)?(SearchCustomers|DeleteCustomer|GetCustomer)[\s>]")
NAME = re.compile(rb"<[^>]*Name>([^<]*)</")


def legacy(operation: str, request: dict[str, str], response: str) -> dict[str, Any]:
    return {
        "wsdl": "crm.wsdl",
        "operation": operation,
        "address": "${CRM_URL}",
        "request": request,
        "response": response,
    }


def find(path: str, **cache: Any) -> dict[str, Any]:
    return {
        "route": {"method": "GET", "path": path},
        "legacy": legacy(
            "SearchCustomers", {"Name": "path.id", "MinBalance": "query.min"}, "{total: Total}"
        ),
        "cache": cache,
    }


def remove(path: str, invalidates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "route": {"method": "DELETE", "path": path},
        "legacy": legacy("DeleteCustomer", {"CustomerId": "path.id"}, "{deleted: Deleted}"),
        "cache": {"invalidates": invalidates},
    }


MAPPINGS: dict[str, dict[str, Any]] = {
    "find": find("/v1/find/{id}", ttl=60),
    "other": find("/v1/other/{id}", ttl=60),
    "remove": remove("/v1/find/{id}", [{"route": "find", "params": {"id": "path.id"}}]),
    "remove-floor": remove(
        "/v1/floor/{id}", [{"route": "find", "params": {"id": "path.id", "min": "query.min"}}]
    ),
    "wipe": remove("/v1/wipe/{id}", [{"route": "find"}]),
    "swr": find("/v1/swr/{id}", ttl=1, stale_while_revalidate=60),
    "special": {  # a literal path before find's {id}, not cached
        "route": {"method": "GET", "path": "/v1/find/special"},
        "legacy": legacy("SearchCustomers", {"Name": "'7'"}, "{total: Total}"),
    },
    "shadowed": {
        "route": {"method": "GET", "path": "/v1/shadowed/{id}"},
        "legacy": legacy("GetCustomer", {"CustomerId": "path.id"}, "Customer.{id: Id, name: Name}"),
        "new": {"url": "${NEW_URL}/api/customers/{path.id}", "timeout": 5},
        "migration": {"mode": "shadow"},
        "cache": {"ttl": 60},
    },
}


class Peer:
    """The legacy SOAP system: a search answers `id * 100 + writes so far`; a delete is a
    write unless the peer is told to fail it."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.gate: threading.Event | None = None
        """When set, searches after the first wait for it."""
        self.fail_writes = False
        self.writes = 0
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        body = request.get_data()
        match = OPERATION.search(body)
        operation = match.group(1).decode() if match else "?"
        with self.lock:
            self.calls[operation] += 1
        if operation == "DeleteCustomer":
            return self.delete()
        if operation == "GetCustomer":
            inner = (  # every element the WSDL requires: a partial customer is a 502
                "<c:Customer><c:Id>1</c:Id><c:Name>Ada</c:Name><c:Email>ada@example.com"
                "</c:Email><c:Status>active</c:Status><c:Balance>1.00</c:Balance>"
                "<c:CreatedAt>2024-01-15</c:CreatedAt></c:Customer>"
            )
            return soap("GetCustomer", inner)
        time.sleep(self.delay)
        if self.gate is not None and self.calls["SearchCustomers"] > 1:
            self.gate.wait(30)
        name = NAME.search(body)
        total = int(name.group(1)) * 100 + self.writes if name else -1
        return soap("SearchCustomers", f"<c:Customers/><c:Total>{total}</c:Total>")

    def delete(self) -> Response:
        if self.fail_writes:
            return Response("down", status=503)
        with self.lock:
            self.writes += 1
        return soap("DeleteCustomer", "<c:Deleted>true</c:Deleted>")


def soap(operation: str, inner: str) -> Response:
    text = envelope(f'<c:{operation}Response xmlns:c="{CRM}">{inner}</c:{operation}Response>')
    return Response(text, content_type="text/xml; charset=utf-8")


class CountingStore(MemoryStore):
    """A MemoryStore that counts reads and writes per route (keys name no route, entries do)."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.puts: Counter[RouteName] = Counter()

    def get(self, key: str) -> Entry | None:
        self.gets += 1
        return super().get(key)

    def put(self, key: str, entry: Entry) -> None:
        self.puts[entry.route] += 1
        super().put(key, entry)

    def purge(self, route: RouteName, params: Params = frozenset()) -> int:
        return super().purge(route, params)


@pytest.fixture(scope="module")
def new_server() -> Iterator[HTTPServer]:
    server = PromptHTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture(scope="module")
def served(
    make_httpserver: HTTPServer, new_server: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Starlette, CountingStore, str]]:
    folder = tmp_path_factory.mktemp("mappings")
    for name, document in MAPPINGS.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {"CRM_URL": make_httpserver.url_for("/crm"), "NEW_URL": new_server.url_for("/")[:-1]}
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(folder, env), registry)
    store = CountingStore()
    app = create_app(table, registry, Settings(admin_token=TOKEN), store=store)
    with serve_in_thread(app) as url:
        yield app, store, url


@pytest.fixture
def base_url(served: tuple[Starlette, CountingStore, str]) -> str:
    return served[2]


def peer_for(httpserver: HTTPServer, delay: float = 0.0) -> Peer:
    peer = Peer(delay)
    httpserver.expect_request("/crm").respond_with_handler(peer)
    return peer


def total(base_url: str, path: str) -> tuple[int, str]:
    response = httpx.get(base_url + path)
    assert response.status_code == 200, response.text
    return response.json()["total"], response.headers["x-facade-cache"]


def test_a_successful_write_purges_the_entries_it_names(
    base_url: str, httpserver: HTTPServer
) -> None:
    peer = peer_for(httpserver)
    assert total(base_url, "/v1/find/1") == (100, "miss")
    assert total(base_url, "/v1/find/2") == (200, "miss")
    assert total(base_url, "/v1/find/1") == (100, "hit")
    deleted = httpx.delete(base_url + "/v1/find/1")
    assert deleted.status_code == 200 and deleted.json() == {"deleted": True}
    assert total(base_url, "/v1/find/1") == (101, "miss")
    assert total(base_url, "/v1/find/2") == (200, "hit")  # id 2 was not named
    assert peer.calls == {"SearchCustomers": 3, "DeleteCustomer": 1}


def test_a_failed_write_purges_nothing(base_url: str, httpserver: HTTPServer) -> None:
    peer = peer_for(httpserver)
    assert total(base_url, "/v1/find/3") == (300, "miss")
    peer.fail_writes = True
    assert httpx.delete(base_url + "/v1/find/3").status_code == 502
    assert total(base_url, "/v1/find/3") == (300, "hit")
    refused = httpx.delete(base_url + "/v1/find/abc")  # not an int: refused before any call
    assert refused.status_code == 422
    assert peer.calls == {"SearchCustomers": 1, "DeleteCustomer": 1}


def test_params_bind_every_named_value(base_url: str, httpserver: HTTPServer) -> None:
    peer = peer_for(httpserver)
    for path in ("/v1/find/4?min=1", "/v1/find/4?min=2", "/v1/find/4", "/v1/find/5?min=1"):
        assert total(base_url, path)[1] == "miss"
    assert httpx.delete(base_url + "/v1/floor/4?min=1").status_code == 200
    assert total(base_url, "/v1/find/4?min=1") == (401, "miss")
    assert total(base_url, "/v1/find/4?min=2")[1] == "hit"
    assert total(base_url, "/v1/find/4")[1] == "hit"
    assert total(base_url, "/v1/find/5?min=1")[1] == "hit"
    assert peer.calls["SearchCustomers"] == 5


def test_a_parameter_without_a_value_purges_the_whole_route(
    base_url: str, httpserver: HTTPServer
) -> None:
    peer = peer_for(httpserver)
    assert total(base_url, "/v1/find/21?min=1")[1] == "miss"
    assert total(base_url, "/v1/find/22")[1] == "miss"
    assert httpx.delete(base_url + "/v1/floor/21").status_code == 200  # query.min is null
    assert total(base_url, "/v1/find/21?min=1") == (2101, "miss")
    assert total(base_url, "/v1/find/22") == (2201, "miss")
    assert peer.calls["SearchCustomers"] == 4


def test_an_invalidation_without_params_purges_the_whole_route(
    base_url: str, httpserver: HTTPServer
) -> None:
    peer = peer_for(httpserver)
    assert total(base_url, "/v1/find/6")[1] == "miss"
    assert total(base_url, "/v1/find/7")[1] == "miss"
    assert total(base_url, "/v1/other/6")[1] == "miss"
    assert httpx.delete(base_url + "/v1/wipe/99").status_code == 200
    assert total(base_url, "/v1/find/6") == (601, "miss")
    assert total(base_url, "/v1/find/7") == (701, "miss")
    assert total(base_url, "/v1/other/6") == (600, "hit")  # another route
    assert peer.calls["SearchCustomers"] == 5


async def reads_and_writes(base_url: str, reads: int, write: str | None) -> list[Answer]:
    async with burst_client(base_url, connections=reads + 1, timeout=30) as client:
        jobs = [client.get("/v1/find/8") for _ in range(reads)]
        if write is not None:
            jobs.insert(reads // 2, client.delete(write))
        return await asyncio.gather(*jobs)


def test_invalidation_under_a_burst_of_concurrent_reads(
    base_url: str, httpserver: HTTPServer
) -> None:
    """Each round, 200 reads race one write; once the write has answered, every read sees
    its effect, and the peer is never asked more than twice a round (a read that began
    before the purge, and one after it)."""
    peer = peer_for(httpserver, delay=0.05)
    for round in range(1, 3):
        raced = asyncio.run(reads_and_writes(base_url, 200, "/v1/find/8"))
        assert all(r.status_code == 200 for r in raced)
        after = asyncio.run(reads_and_writes(base_url, 200, None))
        assert {r.json()["total"] for r in after} == {800 + round}
        assert peer.writes == round
        assert peer.calls["SearchCustomers"] <= 2 * round + 1
    assert peer.calls["DeleteCustomer"] == 2


def purge(base_url: str, body: Any, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(base_url + "/admin/cache/purge", json=body, headers=headers)


def test_the_admin_api_purges_a_route(base_url: str, httpserver: HTTPServer) -> None:
    peer = peer_for(httpserver)
    purge(base_url, {"route": "other"})  # what earlier tests left
    for path in ("/v1/other/1", "/v1/other/2", "/v1/other/3"):
        httpx.get(base_url + path)
    one = purge(base_url, {"route": "other", "params": {"id": 2}})
    assert one.status_code == 200
    assert one.json() == {
        "route": "other",
        "params": {"id": "2"},
        "purged": 1,
        "scope": "this worker",
    }
    assert total(base_url, "/v1/other/2")[1] == "miss"
    assert total(base_url, "/v1/other/1")[1] == "hit"
    everything = purge(base_url, {"route": "other"})
    assert everything.json()["purged"] == 3
    assert total(base_url, "/v1/other/1")[1] == "miss"
    assert peer.calls["SearchCustomers"] == 5


@pytest.mark.parametrize(
    ("body", "token", "status", "field"),
    [
        ({"route": "other"}, None, 401, None),
        ({"route": "other"}, "wrong", 401, None),
        ({"route": "nowhere"}, TOKEN, 404, None),
        ({"route": "remove"}, TOKEN, 404, None),  # a write: nothing of it is cached
        ([1], TOKEN, 422, "body"),
        ({}, TOKEN, 422, "body.route"),
        ({"route": 3}, TOKEN, 422, "body.route"),
        ({"route": "other", "extra": 1}, TOKEN, 422, "body.extra"),
        ({"route": "other", "params": [1]}, TOKEN, 422, "body.params"),
        ({"route": "other", "params": {"name": "x"}}, TOKEN, 422, "body.params.name"),
        ({"route": "other", "params": {"id": None}}, TOKEN, 422, "body.params.id"),
    ],
)
def test_the_admin_purge_refuses_what_it_cannot_do(
    base_url: str, body: Any, token: str | None, status: int, field: str | None
) -> None:
    response = purge(base_url, body, token)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    if field is not None:
        assert [e["field"] for e in problem["errors"]] == [field]
    assert TOKEN not in response.text


def test_the_admin_purge_refuses_a_body_that_is_not_json(base_url: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    response = httpx.post(base_url + "/admin/cache/purge", content=b"{nope", headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body"


def test_facade_cache_purge_calls_the_admin_api(base_url: str, httpserver: HTTPServer) -> None:
    peer = peer_for(httpserver)
    httpx.get(base_url + "/v1/other/11")
    runner = CliRunner()
    done = runner.invoke(
        cli, ["cache", "purge", "other", "--param", "id=11", "--url", base_url, "--token", TOKEN]
    )
    assert done.exit_code == 0, done.output
    assert "purged 1 entry of other (this worker)" in done.output
    assert total(base_url, "/v1/other/11")[1] == "miss"
    refused = runner.invoke(cli, ["cache", "purge", "nowhere", "--url", base_url, "--token", TOKEN])
    assert refused.exit_code == 1
    assert "no cached route named 'nowhere'" in refused.output
    bad = runner.invoke(cli, ["cache", "purge", "other", "--param", "id", "--url", base_url])
    assert bad.exit_code != 0
    assert peer.calls["SearchCustomers"] == 2


def test_stale_while_revalidate_serves_stale_with_one_refresh_under_a_burst(
    base_url: str, httpserver: HTTPServer
) -> None:
    """The refresh is held by the peer for the whole burst: every request gets the stale
    entry at once, and the peer sees one call for it."""
    peer = peer_for(httpserver)
    peer.gate = threading.Event()
    assert total(base_url, "/v1/swr/9") == (900, "miss")
    httpx.delete(base_url + "/v1/wipe/1")  # the peer's answers change; swr is not purged
    time.sleep(1.1)  # past the 1 s ttl, well within the window

    async def burst() -> list[Answer]:
        async with burst_client(base_url, connections=400, timeout=30) as client:
            return await asyncio.gather(*(client.get("/v1/swr/9") for _ in range(400)))

    responses = asyncio.run(burst())
    assert {(r.status_code, r.json()["total"]) for r in responses} == {(200, 900)}
    assert {r.headers["x-facade-cache"] for r in responses} == {"stale"}
    assert peer.calls["SearchCustomers"] == 2
    peer.gate.set()
    deadline = time.monotonic() + 10
    while (fresh := total(base_url, "/v1/swr/9"))[1] != "hit":
        assert time.monotonic() < deadline, peer.calls
        time.sleep(0.02)
    assert fresh == (901, "hit")
    assert peer.calls["SearchCustomers"] == 2


def test_a_shadow_comparison_never_reads_or_writes_the_cache(
    served: tuple[Starlette, CountingStore, str], httpserver: HTTPServer, new_server: HTTPServer
) -> None:
    app, store, base_url = served
    peer = peer_for(httpserver)
    new_server.clear()
    new_server.expect_request("/api/customers/1").respond_with_json({"id": 1, "name": "Ada"})
    gets, puts = store.gets, store.puts["shadowed"]
    for _ in range(5):
        assert httpx.get(base_url + "/v1/shadowed/1").status_code == 200
    deadline = time.monotonic() + 10
    while app.state.shadow_records.snapshot().get("shadowed", {}).get("comparisons", 0) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert len(new_server.log) == 1  # only the request whose own call produced the answer
    assert peer.calls["GetCustomer"] == 1
    # the first request looks twice (in front, then in the pipeline), each hit once in
    # front; the comparison never
    assert store.gets - gets == 6
    assert store.puts["shadowed"] - puts == 1
    assert app.state.shadow_records.snapshot()["shadowed"]["matches"] == 1


def request_count(base_url: str, route: str, side: str, status: str) -> float:
    labels = f'route="{route}",side="{side}",status="{status}"'
    return sample(base_url, "facade_requests_total", labels)


def test_hits_answered_in_front_carry_the_request_id_and_are_counted(
    base_url: str, httpserver: HTTPServer
) -> None:
    peer = peer_for(httpserver)
    first = httpx.get(base_url + "/v1/find/31", headers={"X-Request-ID": "trace-1"})
    before = request_count(base_url, "find", "legacy", "200")
    hit = httpx.get(base_url + "/v1/find/31", headers={"X-Request-ID": "trace-2"})
    assert hit.headers["x-facade-cache"] == "hit" and hit.content == first.content
    assert hit.headers["x-request-id"] == "trace-2"
    assert hit.headers["x-facade-backend"] == "legacy"
    assert hit.headers["content-type"] == "application/json"
    assert len(httpx.get(base_url + "/v1/find/31").headers["x-request-id"]) == 32
    assert request_count(base_url, "find", "legacy", "200") - before == 2
    head = httpx.head(base_url + "/v1/find/31")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(first.content))
    tag = first.headers["etag"]
    unchanged = httpx.get(base_url + "/v1/find/31", headers={"If-None-Match": tag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == tag and "x-request-id" in unchanged.headers
    assert request_count(base_url, "find", "legacy", "304") >= 1
    assert peer.calls["SearchCustomers"] == 1


def test_a_literal_path_that_does_not_cache_wins_over_a_cached_template(
    base_url: str, httpserver: HTTPServer
) -> None:
    peer = peer_for(httpserver)
    for _ in range(2):
        response = httpx.get(base_url + "/v1/find/special")
        assert response.status_code == 200 and "x-facade-cache" not in response.headers
    assert peer.calls["SearchCustomers"] == 2


def test_a_request_the_front_cannot_serve_goes_the_whole_way(
    base_url: str, httpserver: HTTPServer
) -> None:
    peer = peer_for(httpserver)
    assert total(base_url, "/v1/find/32")[1] == "miss"
    # a body the front does not read (blank: no body to the pipeline), answered by the
    # pipeline's own lookup of the same key
    with_body = httpx.request("GET", base_url + "/v1/find/32", content=b" ")
    assert with_body.headers["x-facade-cache"] == "hit"
    other_body = httpx.request("GET", base_url + "/v1/find/32", content=b"{}")
    assert other_body.headers["x-facade-cache"] == "miss"  # the body is part of the key
    assert httpx.post(base_url + "/v1/find/32").status_code == 405
    assert peer.calls["SearchCustomers"] == 2


class FailingLookups(MemoryStore):
    """A store whose every other read fails: the front's read of each request, here."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, key: str) -> Entry | None:
        self.reads += 1
        if self.reads % 2:
            raise RuntimeError("store unavailable")
        return super().get(key)


def test_a_failing_front_lookup_goes_the_whole_way(
    make_httpserver: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    peer = Peer()
    make_httpserver.clear()
    make_httpserver.expect_request("/crm").respond_with_handler(peer)
    (tmp_path / "find.yaml").write_text(yaml.safe_dump(MAPPINGS["find"]), encoding="utf-8")
    registry = WsdlRegistry(ROOT / "wsdl")
    env = {"CRM_URL": make_httpserver.url_for("/crm")}
    table = build_route_table(load_mappings(tmp_path, env), registry)
    app = create_app(table, registry, Settings(), store=FailingLookups())
    with serve_in_thread(app) as url, caplog.at_level("ERROR", logger="facade.cache"):
        assert total(url, "/v1/find/41") == (4100, "miss")
        assert total(url, "/v1/find/41") == (4100, "hit")  # the pipeline's own lookup
    assert peer.calls["SearchCustomers"] == 1
    failures = [r for r in caplog.records if "cache front failed" in r.getMessage()]
    assert len(failures) == 2
    make_httpserver.clear()


def test_the_apps_cache_purges_a_route_for_a_change_of_mode(
    served: tuple[Starlette, CountingStore, str], httpserver: HTTPServer
) -> None:
    app, _, base_url = served
    peer = peer_for(httpserver)
    assert total(base_url, "/v1/other/51")[1] == "miss"
    assert app.state.cache.purge("other") >= 1
    assert total(base_url, "/v1/other/51")[1] == "miss"
    assert peer.calls["SearchCustomers"] == 2
