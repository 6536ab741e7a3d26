"""Compressed answers from the running facade (uvicorn on loopback), its legacy side a real
peer whose reply grows with the name searched for."""

from __future__ import annotations

import asyncio
import gzip
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import brotli
import httpx
import pytest
import yaml
import zstandard
from bursts import Answer, BurstClient, burst_client
from servers import PromptHTTPServer, serve_in_thread
from werkzeug import Request, Response
from wsdls import envelope

from facade.app import create_app
from facade.compression import CODECS, THREAD_BYTES
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
CRM = "http://example.com/crm"
NAME = re.compile(rb"<[^>]*Name>([^<]*)</")
DECODE: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": zstandard.ZstdDecompressor().decompress,
}


def search(path: str, **cache: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "route": {"method": "GET", "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "SearchCustomers",
            "address": "${CRM_URL}",
            "request": {"Name": "path.count"},
            "response": "{total: Total, customers: Customers.Customer}",
        },
    }
    if cache:
        document["cache"] = cache
    return document


MAPPINGS = {
    "fresh": search("/v1/fresh/{count}"),
    "cached": search("/v1/cached/{count}", ttl=60),
}


def customer(number: int) -> str:
    return (
        f"<c:Customer><c:Id>{number}</c:Id><c:Name>Customer number {number}</c:Name>"
        f'<c:Email xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
        f"<c:Status>active</c:Status><c:Balance>{number}.50</c:Balance>"
        f"<c:CreatedAt>2020-01-01T00:00:00Z</c:CreatedAt><c:Address><c:Street>Main {number}"
        f"</c:Street><c:City>London</c:City><c:PostalCode>N1</c:PostalCode>"
        f"<c:Country>GB</c:Country></c:Address></c:Customer>"
    )


def answer(request: Request) -> Response:
    """As many customers as the number searched for (the path's last segment)."""
    match = NAME.search(request.get_data())
    count = int(match.group(1)) if match else 0
    customers = "".join(customer(i) for i in range(count))
    inner = (
        f'<c:SearchCustomersResponse xmlns:c="{CRM}"><c:Customers>{customers}</c:Customers>'
        f"<c:Total>{count}</c:Total></c:SearchCustomersResponse>"
    )
    return Response(envelope(inner), content_type="text/xml; charset=utf-8")


class Recorder:
    """The facade's codecs, counting calls by coding and noting the thread of each."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.codecs = {coding: self._wrap(coding) for coding in CODECS}

    def _wrap(self, coding: str) -> Callable[[bytes], bytes]:
        def codec(body: bytes) -> bytes:
            with self.lock:
                self.calls.append((coding, threading.current_thread().name))
            return CODECS[coding](body)

        return codec

    def count(self, coding: str) -> int:
        return sum(1 for c, _ in self.calls if c == coding)


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, recorder: Recorder) -> Iterator[str]:
    peer = PromptHTTPServer(threaded=True)  # its own: the session's server is shared with others
    peer.expect_request("/crm").respond_with_handler(answer)
    peer.start()
    try:
        folder = tmp_path_factory.mktemp("mappings")
        for name, document in MAPPINGS.items():
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
        env = {"CRM_URL": peer.url_for("/crm")}
        registry = WsdlRegistry(ROOT / "wsdl")
        table = build_route_table(load_mappings(folder, env), registry)
        app = create_app(table, registry, Settings(), codecs=recorder.codecs)
        with serve_in_thread(app) as url:
            yield url
    finally:
        peer.stop()


def raw(url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its bytes as they came over the wire (never decoded by the client);
    identity unless the call names another Accept-Encoding (httpx's default asks for all)."""
    headers = {"accept-encoding": "identity", **headers}
    with httpx.Client() as client, client.stream("GET", url, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def decoded(response: httpx.Response | Answer, body: bytes) -> bytes:
    coding = response.headers.get("content-encoding")
    return DECODE[coding](body) if coding else body


@pytest.mark.parametrize("path", ["/v1/fresh/20", "/v1/cached/21"])
@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip", "gzip"),
        ("br", "br"),
        ("zstd", "zstd"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("identity", None),
        ("gzip;q=0, br;q=0.5", "br"),
        ("gzip;q=0", None),
        ("", None),
    ],
)
def test_each_client_gets_the_same_json_in_the_coding_it_accepts(
    base_url: str, path: str, accept: str, coding: str | None
) -> None:
    plain, plain_body = raw(base_url + path)
    response, body = raw(base_url + path, **{"accept-encoding": accept})
    assert response.status_code == plain.status_code == 200
    assert response.headers.get("content-encoding") == coding
    assert int(response.headers["content-length"]) == len(body)
    assert response.headers["vary"] == "Accept-Encoding"
    assert decoded(response, body) == plain_body
    assert len(plain_body) > 1024 and b'"total":' in plain_body
    if coding is not None:
        assert len(body) < len(plain_body)


def test_a_small_answer_goes_as_it_is_without_vary(base_url: str) -> None:
    response, body = raw(base_url + "/v1/fresh/0", **{"accept-encoding": "gzip, br"})
    assert response.status_code == 200
    assert body == b'{"total":0,"customers":[]}'
    assert "content-encoding" not in response.headers
    assert "vary" not in response.headers


def test_a_cache_hit_sends_the_kept_compressed_bytes(base_url: str, recorder: Recorder) -> None:
    before = recorder.count("br")
    first, first_body = raw(base_url + "/v1/cached/30", **{"accept-encoding": "br"})
    hits = [raw(base_url + "/v1/cached/30", **{"accept-encoding": "br"}) for _ in range(5)]
    assert first.headers["x-facade-cache"] == "miss"
    assert {r.headers["x-facade-cache"] for r, _ in hits} == {"hit"}
    assert {body for _, body in hits} == {first_body}
    assert recorder.count("br") == before + 1  # compressed for the miss, kept for the hits


def test_a_fresh_route_compresses_every_answer(base_url: str, recorder: Recorder) -> None:
    before = recorder.count("gzip")
    for _ in range(3):
        raw(base_url + "/v1/fresh/25", **{"accept-encoding": "gzip"})
    assert recorder.count("gzip") == before + 3


def test_the_etag_is_weak_when_compressed_and_a_304_still_works(base_url: str) -> None:
    plain, _ = raw(base_url + "/v1/cached/40")
    packed, _ = raw(base_url + "/v1/cached/40", **{"accept-encoding": "gzip"})
    strong = plain.headers["etag"]
    assert packed.headers["etag"] == "W/" + strong
    for sent, accept in ((packed.headers["etag"], "gzip"), (strong, "br"), (strong, "")):
        response, body = raw(
            base_url + "/v1/cached/40", **{"if-none-match": sent, "accept-encoding": accept}
        )
        assert response.status_code == 304
        assert body == b""
        assert "content-encoding" not in response.headers
        assert response.headers["vary"] == "Accept-Encoding"
    other, _ = raw(base_url + "/v1/cached/40", **{"if-none-match": 'W/"other"'})
    assert other.status_code == 200


def test_head_is_never_compressed(base_url: str) -> None:
    get, get_body = raw(base_url + "/v1/fresh/20")
    head = httpx.head(base_url + "/v1/fresh/20", headers={"accept-encoding": "gzip"})
    assert head.status_code == 200
    assert head.content == b""
    assert "content-encoding" not in head.headers
    assert head.headers["content-length"] == str(len(get_body))


def test_a_large_answer_is_compressed_off_the_event_loop(base_url: str, recorder: Recorder) -> None:
    small_start = len(recorder.calls)
    raw(base_url + "/v1/fresh/20", **{"accept-encoding": "zstd"})
    loop_thread = recorder.calls[small_start][1]
    start = len(recorder.calls)
    response, body = raw(base_url + "/v1/fresh/600", **{"accept-encoding": "zstd"})
    plain, plain_body = raw(base_url + "/v1/fresh/600")
    assert len(plain_body) > THREAD_BYTES
    assert decoded(response, body) == plain_body
    coding, thread = recorder.calls[start]
    assert coding == "zstd"
    assert thread.startswith("facade-compress") and not loop_thread.startswith("facade-compress")
    assert httpx.get(base_url + "/healthz").status_code == 200


def test_a_burst_of_compressed_requests(base_url: str, recorder: Recorder) -> None:
    """300 requests at once, each its own connection, for a large cached answer (compressed
    in a thread, once per coding) and a small fresh one, in every coding."""
    accepts = ["gzip", "br", "zstd", "identity"]
    plain_large = raw(base_url + "/v1/cached/500")[1]
    plain_small = raw(base_url + "/v1/fresh/15")[1]
    before = {coding: recorder.count(coding) for coding in CODECS}

    async def one(client: BurstClient, path: str, accept: str) -> tuple[int, bytes]:
        response = await client.get(path, headers={"accept-encoding": accept})
        return response.status_code, decoded(response, response.content)

    async def burst() -> list[tuple[int, bytes]]:
        async with burst_client(base_url, connections=300, decompress=False) as client:
            calls = [
                one(client, "/v1/cached/500" if i % 2 else "/v1/fresh/15", accepts[i % 4])
                for i in range(300)
            ]
            return await asyncio.gather(*calls)

    results = asyncio.run(burst())
    assert {status for status, _ in results} == {200}
    for i, (_, body) in enumerate(results):
        assert body == (plain_large if i % 2 else plain_small)
    # the large cached answer (odd i: br or identity) is compressed once for all of them
    assert recorder.count("br") - before["br"] == 1
    # the small fresh answer (even i: gzip or zstd) is compressed for each request
    assert recorder.count("gzip") - before["gzip"] == 75
    assert recorder.count("zstd") - before["zstd"] == 75
