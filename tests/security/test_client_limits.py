"""Limits toward clients on a real facade: a refused body is drained so the client sees the
413, header count and size (431), and CR, LF or NUL never reach a backend's header."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from facades import ROOT, facade_for, legacy
from pytest_httpserver import HTTPServer
from servers import PromptHTTPServer

from facade.backends.legacy import LegacyBackend
from facade.context import RequestContext
from facade.errors import InvalidHeader
from facade.mapping.loader import load_mappings
from facade.net.headers import checked
from facade.net.memory import MemoryTransport
from facade.net.seam import Reply
from facade.pipeline import Failure, ServedRoute, handle
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

LIMIT = 1024
MAPPINGS = {
    "create": {
        "route": {"method": "POST", "path": "/v1/things"},
        "legacy": legacy("CreateCustomer", {"Customer": "body"}),
    },
    "echo": {
        "route": {"method": "GET", "path": "/v1/echo/{id}"},
        "legacy": legacy("GetCustomer", {"CustomerId": "path.id"}),
        "new": {"url": "${NEW_URL}/echo/{path.id}", "headers": ["x-user-id"]},
        "migration": {"mode": "new", "fallback": False},
    },
}


@pytest.fixture(scope="module")
def peer() -> Iterator[HTTPServer]:
    server = PromptHTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/echo/1").respond_with_json({"ok": True})
    server.start()
    try:
        yield server
    finally:
        server.stop()


KEEP_ALIVE_SECONDS = 1
"""uvicorn's keep-alive timer in these tests (5 s unless told): what a slow client's pause
below outlasts, and the drain bound of `base` outlasts the pause."""
PAUSE_SECONDS = 2
DRAIN_SECONDS = 4


@contextmanager
def limited(
    peer: HTTPServer, tmp_path_factory: pytest.TempPathFactory, drain_seconds: float
) -> Iterator[str]:
    config = {
        "limits": {
            "max_body_bytes": LIMIT,
            "max_headers": 30,
            "max_header_bytes": 4096,
            "drain_bytes": 4 * 1024 * 1024,
            "drain_seconds": drain_seconds,
        }
    }
    folder = tmp_path_factory.mktemp("limits") / "mappings"
    folder.mkdir()
    env = {"NEW_URL": peer.url_for("/").rstrip("/")}
    with facade_for(
        folder, MAPPINGS, env, config=config, timeout_keep_alive=KEEP_ALIVE_SECONDS
    ) as url:
        yield url


@pytest.fixture(scope="module")
def base(peer: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A drain bound longer than a slow client's pause below, which is longer than the
    keep-alive timer."""
    with limited(peer, tmp_path_factory, drain_seconds=DRAIN_SECONDS) as url:
        yield url


@pytest.fixture(scope="module")
def short_drain(peer: HTTPServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same limits with a drain bound of 1 s, for a test that waits it out."""
    with limited(peer, tmp_path_factory, drain_seconds=1) as url:
        yield url


def address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def raw(base: str, head: bytes, body: bytes = b"", then_stop: bool = False) -> bytes:
    """Send `head` and all of `body` (blocking until the server took it), then read the
    whole answer; with `then_stop`, read the answer without sending the body's rest."""
    with socket.create_connection(address(base), timeout=30) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and then_stop:
                break
        return b"".join(chunks)


def post_head(length: int | None, path: str = "/v1/things") -> bytes:
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (
        f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def test_a_slow_client_that_keeps_sending_sees_413_not_a_reset(base: str) -> None:
    """Answered at once and left unread, the connection would be closed by uvicorn's
    keep-alive timer while the client still sends: a reset, and no status seen."""
    with socket.create_connection(address(base), timeout=30) as sock:
        sock.sendall(post_head(2 * 1024 * 1024) + b"x" * (1024 * 1024))
        time.sleep(PAUSE_SECONDS)  # a slow link: longer than the keep-alive timer
        sock.sendall(b"x" * (1024 * 1024))
        assert sock.recv(65536).startswith(b"HTTP/1.1 413 ")


def test_a_client_that_keeps_sending_a_declared_large_body_sees_413(base: str) -> None:
    body = b"x" * (3 * 1024 * 1024)
    answer = raw(base, post_head(len(body)), body, then_stop=True)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_a_client_that_keeps_sending_a_chunked_large_body_sees_413(base: str) -> None:
    chunk = b"x" * 65536
    body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 48 + b"0\r\n\r\n"
    answer = raw(base, post_head(None), body, then_stop=True)
    assert answer.startswith(b"HTTP/1.1 413 ")


def test_urllib_sending_a_large_body_gets_the_413_not_a_reset(base: str) -> None:
    request = urllib.request.Request(
        base + "/v1/things", data=b"x" * (3 * 1024 * 1024), method="POST"
    )
    request.add_header("Content-Type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - loopback
    assert caught.value.code == 413
    assert b"payload-too-large" in caught.value.read()


def test_httpx_streaming_a_large_body_gets_the_413(base: str) -> None:
    def stream() -> Iterator[bytes]:
        for _ in range(48):
            yield b"x" * 65536

    answer = httpx.post(
        base + "/v1/things", content=stream(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413


def test_past_the_drain_bound_the_413_comes_with_connection_close(base: str) -> None:
    # declares 64 MiB, sends 5 MiB (past drain_bytes), then only reads
    head = post_head(64 * 1024 * 1024)
    answer = raw(base, head, b"x" * (5 * 1024 * 1024), then_stop=True)
    status, _, rest = answer.partition(b"\r\n")
    assert status.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in rest.lower()


def test_a_client_that_stalls_gets_the_413_after_drain_seconds(short_drain: str) -> None:
    answer = raw(short_drain, post_head(64 * 1024 * 1024), b"x" * 2048, then_stop=True)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"connection: close" in answer.lower()


def test_a_body_within_the_limit_is_read_as_before(base: str) -> None:
    answer = httpx.post(base + "/v1/things", json={"Name": 1})
    assert answer.status_code == 422  # read and validated, not refused for its size


def test_too_many_header_fields_is_431(base: str) -> None:
    headers = {f"x-h{i}": "v" for i in range(40)}
    answer = httpx.get(base + "/v1/echo/1", headers=headers)
    assert answer.status_code == 431
    assert answer.json()["type"] == "urn:facade:problem:headers-too-large"
    assert "header fields; at most 30" in answer.json()["detail"]


def test_too_large_header_fields_are_431(base: str) -> None:
    answer = httpx.get(base + "/v1/echo/1", headers={"x-big": "v" * 5000})
    assert answer.status_code == 431
    assert "at most 4096 are accepted" in answer.json()["detail"]


def test_health_answers_431_too_when_headers_are_too_many(base: str) -> None:
    headers = {f"x-h{i}": "v" for i in range(40)}
    assert httpx.get(base + "/healthz", headers=headers).status_code == 431


def test_only_allow_listed_headers_reach_the_new_side(base: str, peer: HTTPServer) -> None:
    sent = {"x-user-id": "u1", "authorization": "Bearer t", "cookie": "s=1", "x-other": "o"}
    answer = httpx.get(base + "/v1/echo/1", headers={**sent, "te": "trailers"})
    assert answer.status_code == 200
    received = peer.log[-1][0].headers
    assert received["x-user-id"] == "u1"
    for name in ("authorization", "cookie", "x-other", "te"):
        assert name not in received


def test_nul_in_a_forwarded_header_is_400_and_never_sent(base: str, peer: HTTPServer) -> None:
    """The server's parser (httptools) refuses CR, LF, NUL and obs-fold in a client's
    header itself; `checked` stands behind it for values from elsewhere (a WSDL, claims)."""
    before = len(peer.log)
    head = b"GET /v1/echo/1 HTTP/1.1\r\nHost: t\r\nX-User-Id: a\x00b\r\nConnection: close\r\n\r\n"
    answer = raw(base, head)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert len(peer.log) == before


@pytest.mark.parametrize("value", ["a\r\nx-evil: 1", "a\nb", "a\rb", "a\x00b"])
def test_checked_names_the_header_holding_cr_lf_or_nul(value: str) -> None:
    with pytest.raises(InvalidHeader) as caught:
        checked({"accept": "application/json", "x-user-id": value})
    assert caught.value.header == "x-user-id"
    assert caught.value.status == 400
    assert caught.value.extensions() == {"header": "x-user-id"}


def test_a_soapaction_holding_crlf_is_refused_before_sending(tmp_path: Path) -> None:
    wsdl_dir = tmp_path / "wsdl"
    shutil.copytree(ROOT / "wsdl", wsdl_dir)
    crm = wsdl_dir / "crm.wsdl"
    action = 'soapAction="http://example.com/crm/GetCustomer"'
    crm.write_text(crm.read_text().replace(action, 'soapAction="urn:a&#13;&#10;X-Evil: 1"'))
    folder = tmp_path / "mappings"
    folder.mkdir()
    mapping: dict[str, Any] = {
        "route": {"method": "GET", "path": "/v1/customers/{id}"},
        "legacy": {**legacy("GetCustomer", {"CustomerId": "path.id"}), "port": "CrmServiceSoap"},
    }

    (folder / "get.yaml").write_text(yaml.safe_dump(mapping), encoding="utf-8")
    table = build_route_table(load_mappings(folder, {}), WsdlRegistry(wsdl_dir))
    [route] = table
    transport = MemoryTransport(lambda request: Reply(200, {}, b""))
    served = ServedRoute(route, table.validators[route.name], LegacyBackend(route, transport))
    context = RequestContext(route=route.name, request_id="r1", path={"id": "1"})
    outcome = asyncio.run(handle(served, context))
    assert isinstance(outcome, Failure)
    assert isinstance(outcome.error, InvalidHeader)
    assert outcome.error.header.lower() == "soapaction"
    assert transport.requests == []


def test_drain_runs_alongside_other_requests(base: str) -> None:
    """A client stalling mid-body holds its own request only: others are answered. The
    stalled client has sent its head and part of its body before the other request, and
    hangs up after it rather than waiting out the drain bound."""
    with socket.create_connection(address(base), timeout=30) as stalled:
        stalled.sendall(post_head(64 * 1024 * 1024) + b"x" * 2048)
        assert httpx.get(base + "/healthz").status_code == 200


def test_a_client_waiting_for_100_continue_gets_the_413_without_sending(base: str) -> None:
    head = post_head(64 * 1024 * 1024).replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    answer = raw(base, head, then_stop=True)
    assert answer.startswith(b"HTTP/1.1 413 ")  # not "100 Continue": no body was asked for
    assert b"connection: close" in answer.lower()
