"""Memory stays flat for each kind of bad answer from legacy, a gzip bomb included: each is
answered with its own problem type, reading stops at the route's reply cap, and nothing of
them is kept between requests."""

from __future__ import annotations

import gc
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from facades import ONE_CALL_EACH, facade_for
from pytest_httpserver import HTTPServer
from soap_peer import GET_CUSTOMER

MiB = 1024 * 1024
CAP = 2 * MiB


def gzip_bomb(mebibytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    return b"".join([*(packer.compress(zeros) for _ in range(mebibytes)), packer.flush()])


BAD_ANSWERS: dict[str, tuple[bytes, dict[str, Any], str]] = {
    "html": (b"<html><body>" + b"x" * 10_000 + b"</body></html>", {}, "backend-html-response"),
    "empty": (b"", {}, "backend-empty-response"),
    "malformed": (b"<s:Envelope><unclosed>", {}, "backend-malformed-xml"),
    "not-soap": (b"<order><id>1</id></order>", {}, "backend-not-soap"),
    "oversized": (b"<x>" + b"y" * (8 * MiB) + b"</x>", {}, "backend-reply-too-large"),
    "gzip-bomb": (gzip_bomb(256), {"Content-Encoding": "gzip"}, "backend-reply-too-large"),
}


@pytest.mark.parametrize("kind", list(BAD_ANSWERS))
def test_memory_stays_flat_for_a_bad_answer(
    kind: str, httpserver: HTTPServer, tmp_path: Path
) -> None:
    content, headers, slug = BAD_ANSWERS[kind]
    httpserver.expect_request("/crm").respond_with_data(
        content, content_type="text/xml", headers=headers
    )
    legacy = GET_CUSTOMER["legacy"] | {"max_reply_bytes": CAP}
    mappings = {"get-customer": GET_CUSTOMER | {"legacy": legacy}}
    env = {"CRM_URL": httpserver.url_for("/crm")}
    with facade_for(tmp_path, mappings, env, ONE_CALL_EACH) as url, httpx.Client() as client:
        for _ in range(5):  # warm up: pools, caches of the libraries
            client.get(f"{url}/v1/customers/1")
        # tracemalloc sees the whole test process: another thread's allocation may land in
        # one window, while a leak of 30 bad answers shows in every window
        windows = [_window(client, f"{url}/v1/customers/1")]
        if windows[0][1] >= MiB:
            windows.append(_window(client, f"{url}/v1/customers/1"))
    for answers, _kept, held in windows:
        assert answers == {f"urn:facade:problem:{slug}"}
        assert held < 8 * CAP  # none is held in full past the cap
    assert min(kept for _, kept, _ in windows) < MiB  # 30 bad answers leave nothing behind


def _window(client: httpx.Client, url: str) -> tuple[set[str], int, int]:
    """The problem types of 30 calls, the bytes they left allocated, and their peak."""
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        answers = {client.get(url).json()["type"] for _ in range(30)}
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return answers, after - before, peak - before
