"""The real transport sends a URL as written: escapes kept, dot segments not resolved."""

from __future__ import annotations

import asyncio

import pytest
from pytest_httpserver import HTTPServer

from facade.net import Deadline, HttpTransport


def raw_uri_of(httpserver: HTTPServer, url: str) -> str:
    httpserver.expect_request("").respond_with_data("ok")

    async def send() -> None:
        transport = HttpTransport()
        try:
            await transport.request("GET", url, None, {}, Deadline.after(5))
        finally:
            await transport.aclose()

    asyncio.run(send())
    [(request, _)] = httpserver.log
    return str(request.environ["RAW_URI"])


@pytest.mark.parametrize(
    ("path", "sent"),
    [
        ("/c/%2E%2E/x", "/c/%2E%2E/x"),
        ("/c/..%2F..%2Fadmin?q=%3F%23%26", "/c/..%2F..%2Fadmin?q=%3F%23%26"),
        ("/c/../x", "/c/../x"),
        ("/a b/\u00fc", "/a%20b/%C3%BC"),
    ],
)
def test_urls_are_sent_as_written(httpserver: HTTPServer, path: str, sent: str) -> None:
    assert raw_uri_of(httpserver, f"http://127.0.0.1:{httpserver.port}{path}") == sent
