"""The cache in the running facade, its legacy side a real peer that counts its calls."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from bursts import Answer, burst_client
from facades import sample
from pytest_httpserver import HTTPServer
from servers import serve_in_thread
from werkzeug import Request, Response
from wsdls import envelope

from facade.app import create_app
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"
NAME = re.compile(rb"<[^>]*Name>([^<]*)</")


def search(path: str, name: str, **cache: Any) -> dict[str, Any]:
    return {
        "route": {"method": "GET", "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "SearchCustomers",
            "address": "${CRM_URL}",
            "request": {"Name": name},
            "response": "{total: Total}",
        },
        "cache": cache,
    }


MAPPINGS = {
    "cached-search": search("/v1/search/{id}", "path.id", ttl=60),
    "by-caller": search("/v1/mine", "headers.authorization", ttl=3600),  # outlives a slow run
    "short-lived": search("/v1/brief", "query.name", ttl=0.3),
    "fragile": search("/v1/fragile/{id}", "path.id", ttl=0.2, stale_if_error=60),
    "fragile-briefly": search("/v1/briefly/{id}", "path.id", ttl=0.2, stale_if_error=0.3),
    "bypassable": search("/v1/fresh/{id}", "path.id", ttl=60, allow_bypass=True),
}


def total_for(name: bytes) -> int:
    """The peer's answer depends on the caller: digits of the name sent to it."""
    digits = re.sub(rb"\D", b"", name)
    return int(digits or b"0")


def answer(delay: float) -> Any:
    def handler(request: Request) -> Response:
        time.sleep(delay)
        match = NAME.search(request.get_data())
        total = total_for(match.group(1) if match else b"")
        inner = (
            f'<c:SearchCustomersResponse xmlns:c="{CRM}"><c:Customers/>'
            f"<c:Total>{total}</c:Total></c:SearchCustomersResponse>"
        )
        return Response(envelope(inner), content_type="text/xml; charset=utf-8")

    return handler


@pytest.fixture(scope="module")
def base_url(
    make_httpserver: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mappings")
    for name, document in MAPPINGS.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {"CRM_URL": make_httpserver.url_for("/crm")}
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(folder, env), registry)
    # one legacy call per request: no retries, no breaker carried from test to test
    settings = Settings(retry_attempts=1, breaker=False)
    with serve_in_thread(create_app(table, registry, settings)) as url:
        yield url


def legacy_calls(httpserver: HTTPServer) -> int:
    return len(httpserver.log)


async def burst(base_url: str, paths: list[tuple[str, dict[str, str]]]) -> list[Answer]:
    async with burst_client(base_url, connections=len(paths), timeout=30) as client:
        return await asyncio.gather(*(client.get(p, headers=h) for p, h in paths))


def test_a_repeated_request_is_answered_from_the_cache(
    base_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0))
    first = httpx.get(f"{base_url}/v1/search/11?b=2&a=1")
    second = httpx.get(f"{base_url}/v1/search/11?a=1&b=2")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content == b'{"total":11}'
    assert second.headers["x-facade-backend"] == "legacy"
    assert legacy_calls(httpserver) == 1
    assert httpx.get(f"{base_url}/v1/search/12").json() == {"total": 12}
    assert legacy_calls(httpserver) == 2


def test_an_entry_expires_after_its_ttl(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0))
    assert httpx.get(f"{base_url}/v1/brief?name=7").json() == {"total": 7}
    httpx.get(f"{base_url}/v1/brief?name=7")
    assert legacy_calls(httpserver) == 1
    time.sleep(0.4)
    httpx.get(f"{base_url}/v1/brief?name=7")
    assert legacy_calls(httpserver) == 2


def test_errors_are_not_cached(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_data("down", status=503)
    first = httpx.get(f"{base_url}/v1/search/31")
    assert first.status_code == 502
    assert "x-facade-cache" not in first.headers and "etag" not in first.headers
    assert httpx.get(f"{base_url}/v1/search/31").status_code == 502
    assert legacy_calls(httpserver) == 2


def test_miss_then_hit_headers(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0))
    miss = httpx.get(f"{base_url}/v1/search/61")
    tag = '"' + hashlib.sha256(miss.content).hexdigest()[:32] + '"'
    assert miss.headers["x-facade-cache"] == "miss"
    assert miss.headers["etag"] == tag
    assert "age" not in miss.headers and "cache-control" not in miss.headers
    time.sleep(1.1)
    hit = httpx.get(f"{base_url}/v1/search/61")
    assert hit.headers["x-facade-cache"] == "hit"
    assert hit.headers["etag"] == tag
    age = int(hit.headers["age"])
    max_age = int(hit.headers["cache-control"].removeprefix("max-age="))
    assert 1 <= age <= 5
    assert 60 - age - 1 <= max_age <= 60 - age
    assert hit.content == miss.content
    assert legacy_calls(httpserver) == 1


def test_if_none_match_gets_a_304_without_a_body(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0))
    tag = httpx.get(f"{base_url}/v1/search/71").headers["etag"]
    again = httpx.get(f"{base_url}/v1/search/71", headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == tag
    other = httpx.get(f"{base_url}/v1/search/71", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200
    assert legacy_calls(httpserver) == 1


def test_no_cache_bypasses_only_where_the_route_allows_it(
    base_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0))
    fresh = {"Cache-Control": "no-cache"}
    httpx.get(f"{base_url}/v1/search/81")
    refused = httpx.get(f"{base_url}/v1/search/81", headers=fresh)
    assert refused.headers["x-facade-cache"] == "hit"
    assert legacy_calls(httpserver) == 1
    httpx.get(f"{base_url}/v1/fresh/81")
    bypassed = httpx.get(f"{base_url}/v1/fresh/81", headers=fresh)
    assert bypassed.headers["x-facade-cache"] == "bypass"
    assert legacy_calls(httpserver) == 3
    assert httpx.get(f"{base_url}/v1/fresh/81").headers["x-facade-cache"] == "hit"
    assert legacy_calls(httpserver) == 3


def test_200_concurrent_misses_make_one_legacy_call(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0.3))
    responses = asyncio.run(burst(base_url, [("/v1/search/41", {})] * 200))
    assert [r.status_code for r in responses] == [200] * 200
    assert {r.content for r in responses} == {b'{"total":41}'}
    assert legacy_calls(httpserver) == 1


def test_a_burst_of_500_on_a_cached_route(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0.2))
    responses = asyncio.run(burst(base_url, [("/v1/search/51", {})] * 500))
    assert [r.status_code for r in responses] == [200] * 500
    assert legacy_calls(httpserver) == 1


def test_no_caller_ever_receives_another_callers_answer(
    base_url: str, httpserver: HTTPServer
) -> None:
    """Two callers, 2,000 interleaved requests in concurrent batches: each one only ever
    sees the answer the peer computed from its own Authorization header."""
    httpserver.expect_request("/crm").respond_with_handler(answer(0.01))
    callers = {"Bearer 1001": b'{"total":1001}', "Bearer 2002": b'{"total":2002}'}
    tokens = list(callers)
    for _ in range(10):
        batch = [("/v1/mine", {"Authorization": tokens[i % 2]}) for i in range(200)]
        responses = asyncio.run(burst(base_url, batch))
        for (_, sent), response in zip(batch, responses, strict=True):
            assert response.status_code == 200
            assert response.content == callers[sent["Authorization"]]
    assert legacy_calls(httpserver) == 2


def test_an_expired_entry_answers_marked_stale_when_legacy_fails(
    base_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request("/crm").respond_with_handler(answer(0))
    httpserver.expect_ordered_request("/crm").respond_with_data("down", status=503)
    first = httpx.get(f"{base_url}/v1/fragile/91")
    time.sleep(0.3)
    stale = httpx.get(f"{base_url}/v1/fragile/91")
    assert stale.status_code == 200
    assert stale.headers["x-facade-cache"] == "stale"
    assert stale.content == first.content == b'{"total":91}'
    assert legacy_calls(httpserver) == 2


def test_a_stale_entry_past_its_grace_is_not_served(base_url: str, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/crm").respond_with_handler(answer(0))
    httpserver.expect_ordered_request("/crm").respond_with_data("down", status=503)
    assert httpx.get(f"{base_url}/v1/briefly/92").status_code == 200
    time.sleep(0.7)
    assert httpx.get(f"{base_url}/v1/briefly/92").status_code == 502
    assert legacy_calls(httpserver) == 2


def test_an_expired_entry_is_refreshed_when_legacy_answers(
    base_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_ordered_request("/crm").respond_with_handler(answer(0))
    httpserver.expect_ordered_request("/crm").respond_with_handler(answer(0))
    httpx.get(f"{base_url}/v1/fragile/93")
    time.sleep(0.3)
    fresh = httpx.get(f"{base_url}/v1/fragile/93")
    assert fresh.headers["x-facade-cache"] == "miss"
    assert legacy_calls(httpserver) == 2


def cache_count(base_url: str, route: str, result: str) -> float:
    return sample(base_url, "facade_cache_total", f'result="{result}",route="{route}"')


def test_metrics_count_hits_misses_and_coalesced_waits(
    base_url: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/crm").respond_with_handler(answer(0.3))
    results = ("hit", "miss", "coalesced")
    before = {r: cache_count(base_url, "cached-search", r) for r in results}
    responses = asyncio.run(burst(base_url, [("/v1/search/101", {})] * 50))
    httpx.get(f"{base_url}/v1/search/101")
    after = {r: cache_count(base_url, "cached-search", r) for r in results}
    grown = {r: after[r] - before[r] for r in results}
    assert all(r.status_code == 200 for r in responses)
    assert grown["miss"] == 1
    assert grown["coalesced"] >= 1
    assert grown["hit"] + grown["coalesced"] == 50
    text = httpx.get(f"{base_url}/metrics").text
    used = re.search(r"^facade_cache_bytes (\S+)$", text, re.MULTILINE)
    assert used is not None and float(used.group(1)) > 0
    assert legacy_calls(httpserver) == 1
