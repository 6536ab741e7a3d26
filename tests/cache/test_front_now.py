"""Fresh cache hits answered by the server protocol at once (facade/protocol.py asks the
app's `answer_now`): the same answer the app sends, counted once, under a burst."""

from __future__ import annotations

import asyncio
import gzip
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from bursts import burst_client, open_files
from facades import facade_for, sample
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wsdls import envelope

from facade.app import create_app
from facade.cache.store import CacheStore, Entry, MemoryStore
from facade.mapping.loader import load_mappings
from facade.protocol import HttpProtocol
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"
NAME = re.compile(rb"<[^>]*Name>([^<]*)</")
MAPPING = {
    "route": {"method": "GET", "path": "/v1/search/{name}"},
    "legacy": {
        "wsdl": "crm.wsdl",
        "operation": "SearchCustomers",
        "address": "${CRM_URL}",
        "request": {"Name": "path.name"},
        "response": "{total: Total, name: 'seen'}",
    },
    "cache": {"ttl": 3600},
}
CHANGING = ("date", "x-request-id", "age", "cache-control")
"""Headers whose values differ from one answer to the next."""


class CountingProtocol(HttpProtocol):
    """Counts the answers sent at once, across connections."""

    sent_at_once = 0

    def _answered_now(self, cycle: Any) -> bool:
        answered = super()._answered_now(cycle)
        CountingProtocol.sent_at_once += answered
        return answered


def peer(request: Request) -> Response:
    digits = re.sub(rb"\D", b"", NAME.search(request.get_data()).group(1))  # type: ignore[union-attr]
    inner = (
        f'<c:SearchCustomersResponse xmlns:c="{CRM}"><c:Customers/>'
        f"<c:Total>{int(digits or b'0')}</c:Total></c:SearchCustomersResponse>"
    )
    return Response(envelope(inner), content_type="text/xml; charset=utf-8")


@contextmanager
def facade(
    folder: Path, httpserver: HTTPServer, store: CacheStore | None = None, **options: Any
) -> Iterator[str]:
    """The facade for MAPPING under uvicorn, its legacy peer `httpserver`; `options` go to
    uvicorn (`http=...`)."""
    httpserver.expect_request("/crm").respond_with_handler(peer)
    env = {"CRM_URL": httpserver.url_for("/crm")}
    settings = Settings(compress_min_bytes=1, retry_attempts=1, breaker=False)
    with facade_for(folder, {"search": MAPPING}, env, settings, store=store, **options) as url:
        yield url


def hits(base_url: str) -> float:
    return sample(base_url, "facade_cache_total", 'result="hit",route="search"')


def test_fresh_hits_are_sent_at_once_and_counted_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    CountingProtocol.sent_at_once = 0
    with facade(tmp_path, httpserver, http=CountingProtocol) as url:
        identity = {"accept-encoding": "identity"}
        miss = httpx.get(f"{url}/v1/search/n41", headers=identity)
        assert miss.headers["x-facade-cache"] == "miss"
        got = [httpx.get(f"{url}/v1/search/n41", headers=identity) for _ in range(3)]
        head = httpx.head(f"{url}/v1/search/n41", headers=identity)
        tag = {"if-none-match": miss.headers["etag"], **identity}
        unchanged = httpx.get(f"{url}/v1/search/n41", headers=tag)
        assert CountingProtocol.sent_at_once == 5
        assert hits(url) == 5
        status = 'route="search",side="legacy",status="{}"'
        assert sample(url, "facade_requests_total", status.format(200)) == 5
        assert sample(url, "facade_requests_total", status.format(304)) == 1
    assert [r.content for r in got] == [miss.content] * 3 == [b'{"total":41,"name":"seen"}'] * 3
    assert all(r.headers["x-facade-cache"] == "hit" for r in [*got, head])
    assert head.content == b"" and head.headers["content-length"] == str(len(miss.content))
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert len(httpserver.log) == 1


def test_a_hit_sent_at_once_is_the_hit_the_app_sends(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    answers = []
    for way, options in (("app", {"http": "httptools"}), ("at once", {})):
        (tmp_path / way).mkdir()
        with facade(tmp_path / way, httpserver, **options) as url:
            for coding in ("identity", "gzip", "gzip"):  # the second gzip: its form is kept
                httpx.get(f"{url}/v1/search/n52", headers={"accept-encoding": coding})
                with httpx.Client() as client:
                    request = client.build_request(
                        "GET", f"{url}/v1/search/n52", headers={"accept-encoding": coding}
                    )
                    hit = client.send(request, stream=True)
                    body = b"".join(hit.iter_raw())
                    hit.close()
                headers = {k: v for k, v in hit.headers.items() if k not in CHANGING}
                answers.append((way, coding, hit.status_code, headers, body))
    by_app, at_once = answers[:3], answers[3:]
    assert [a[1:] for a in by_app] == [a[1:] for a in at_once]
    assert gzip.decompress(at_once[2][4]) == at_once[0][4] == b'{"total":52,"name":"seen"}'


def test_a_hit_whose_coding_is_still_to_make_goes_through_the_app_and_counts_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    CountingProtocol.sent_at_once = 0
    with facade(tmp_path, httpserver, http=CountingProtocol) as url:
        gzipped = {"accept-encoding": "gzip"}
        httpx.get(f"{url}/v1/search/n63", headers={"accept-encoding": "identity"})  # the miss
        first = httpx.get(f"{url}/v1/search/n63", headers=gzipped)  # compressed by the app
        assert CountingProtocol.sent_at_once == 0
        second = httpx.get(f"{url}/v1/search/n63", headers=gzipped)  # its kept form
        assert CountingProtocol.sent_at_once == 1
        assert hits(url) == 2
    assert first.headers["content-encoding"] == second.headers["content-encoding"] == "gzip"
    assert first.content == second.content == b'{"total":63,"name":"seen"}'


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__(1 << 20)
        self.reads = 0

    def get(self, key: str) -> Entry | None:
        self.reads += 1
        return super().get(key)


def test_a_miss_is_looked_up_in_front_once(tmp_path: Path, httpserver: HTTPServer) -> None:
    """Once before the app (nothing found: the app is told so) and once by the pipeline,
    which waits on a miss already being fetched or fetches it."""
    store = CountingStore()
    with facade(tmp_path, httpserver, store, http=CountingProtocol) as url:
        plain = {"accept-encoding": "identity"}  # no compressed form is looked for
        assert httpx.get(f"{url}/v1/search/n74", headers=plain).headers["x-facade-cache"] == "miss"
    assert store.reads == 2


def test_a_burst_of_a_thousand_clients_on_a_fresh_entry_is_sent_at_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    open_files(3 * 1000)
    CountingProtocol.sent_at_once = 0

    async def callers(url: str) -> list[tuple[int, bytes]]:
        async with burst_client(url, connections=1000, timeout=60) as client:
            got = await asyncio.gather(
                *(
                    client.get("/v1/search/n85", headers={"accept-encoding": "identity"})
                    for _ in range(1000)
                )
            )
        return [(answer.status_code, answer.content) for answer in got]

    with facade(tmp_path, httpserver, http=CountingProtocol) as url:
        expected = httpx.get(f"{url}/v1/search/n85", headers={"accept-encoding": "identity"})
        got = asyncio.run(callers(url))
        assert hits(url) == 1000
    assert got == [(200, expected.content)] * 1000
    assert CountingProtocol.sent_at_once == 1000
    assert len(httpserver.log) == 1


def test_only_reads_of_routes_answered_in_front_wait_for_the_end_of_the_round(
    tmp_path: Path,
) -> None:
    uncached = {**MAPPING, "route": {"method": "GET", "path": "/v1/plain/{name}"}}
    del uncached["cache"]
    (tmp_path / "search.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    (tmp_path / "plain.yaml").write_text(yaml.safe_dump(uncached), encoding="utf-8")
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(tmp_path, {"CRM_URL": "http://127.0.0.1:9"}), registry)
    app = create_app(table, registry)
    app.middleware_stack = app.build_middleware_stack()

    def may(method: str, path: str) -> bool:
        scope = {"type": "http", "method": method, "path": path, "headers": [], "root_path": ""}
        return app.may_answer_now(scope)

    assert may("GET", "/v1/search/n1") and may("HEAD", "/v1/search/n1")
    assert not may("GET", "/v1/plain/n1")  # caches nothing
    assert not may("POST", "/v1/search/n1")
    assert not may("GET", "/healthz") and not may("GET", "/v1/nowhere")
