"""The aiohttp transport against real peers on loopback: deadline, size cap, failures, pools."""

from __future__ import annotations

import asyncio
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from servers import serve_in_thread

from facade.errors import BackendError, BackendReplyTooLarge, BackendTimeout, BackendUnreachable
from facade.net import Deadline, HttpTransport, Reply
from facade.net.seam import origin, origin_problem

MiB = 1024 * 1024


def send(
    url: str,
    *,
    seconds: float = 5.0,
    max_bytes: int = MiB,
    method: str = "POST",
    transport: HttpTransport | None = None,
) -> Reply:
    async def run() -> Reply:
        client = transport or HttpTransport()
        try:
            return await client.request(
                method,
                url,
                b"<x/>",
                {"Content-Type": "text/xml"},
                Deadline.after(seconds),
                max_bytes=max_bytes,
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """A TCP server on loopback whose every connection is handled by `serve(conn)` in a
    thread: for peers that misbehave below what an HTTP server library allows."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    stop = threading.Event()
    handlers: list[Callable[[socket.socket], None]] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=_serve_one, args=(conn, handlers[0], stop), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)

    def start(serve: Callable[[socket.socket], None]) -> str:
        handlers.append(serve)
        thread.start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/crm"

    yield start
    stop.set()
    thread.join(5)
    listener.close()


def _serve_one(
    conn: socket.socket, serve: Callable[[socket.socket], None], stop: threading.Event
) -> None:
    with conn:
        conn.settimeout(5)
        try:
            _read_request(conn)
            serve(conn)
        except OSError:
            pass  # the client hung up, as it should at its deadline or cap


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        body += conn.recv(65536)


def test_reply_is_read_whole_with_lower_case_headers(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm", method="POST").respond_with_data(
        "<ok/>", headers={"X-Custom": "1"}, content_type="text/xml"
    )
    reply = send(httpserver.url_for("/crm"))
    assert (reply.status, reply.content, reply.headers["x-custom"]) == (200, b"<ok/>", "1")
    assert reply.elapsed > 0


def test_gzip_reply_is_decompressed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_data(
        gzip.compress(b"<ok/>" * 100), headers={"Content-Encoding": "gzip"}
    )
    assert send(httpserver.url_for("/crm")).content == b"<ok/>" * 100


def test_redirects_are_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    reply = send(httpserver.url_for("/crm"))
    assert reply.status == 302
    assert len(httpserver.log) == 1


def test_deadline_covers_a_reply_that_trickles(raw_server) -> None:  # type: ignore[no-untyped-def]
    """One byte every 0.3 s would take 30 s; the 1 s deadline ends it."""

    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/xml\r\n\r\n")
        for _ in range(100):
            conn.sendall(b"x")
            time.sleep(0.3)

    url = raw_server(trickle)
    started = time.monotonic()
    with pytest.raises(BackendTimeout) as caught:
        send(url, seconds=1.0)
    assert "1 s" in caught.value.detail
    assert time.monotonic() - started < 15  # far less than the trickle would have taken


def test_deadline_covers_a_backend_that_never_answers(raw_server) -> None:  # type: ignore[no-untyped-def]
    url = raw_server(lambda conn: time.sleep(3))
    with pytest.raises(BackendTimeout):
        send(url, seconds=0.3)


def test_reply_over_the_cap_by_content_length(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_data(b"x" * (2 * MiB))
    with pytest.raises(BackendReplyTooLarge) as caught:
        send(httpserver.url_for("/crm"), max_bytes=MiB)
    assert caught.value.status == 502
    assert caught.value.slug == "backend-reply-too-large"


def test_reply_at_the_cap_is_read(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/crm").respond_with_data(b"x" * MiB)
    assert len(send(httpserver.url_for("/crm"), max_bytes=MiB).content) == MiB


def test_compressed_reply_is_capped_on_its_decompressed_size(httpserver: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * (20 * MiB))  # about 20 KB on the wire
    httpserver.expect_request("/crm").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(BackendReplyTooLarge):
        send(httpserver.url_for("/crm"), max_bytes=MiB)


def test_endless_chunked_reply_is_cut_at_the_cap_with_flat_memory(raw_server) -> None:  # type: ignore[no-untyped-def]
    """200 MiB offered without a length: reading stops at the cap; memory stays near it."""
    chunk = b"x" * 65536

    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3200):
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.sendall(b"0\r\n\r\n")

    url = raw_server(endless)
    tracemalloc.start()
    try:
        with pytest.raises(BackendReplyTooLarge):
            send(url, max_bytes=2 * MiB, seconds=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB


def test_connection_refused_is_unreachable_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: refuses
        with pytest.raises(BackendUnreachable):
            send(f"http://127.0.0.1:{port}/crm", seconds=5)


def test_burst_against_a_refusing_backend_fails_every_call_fast() -> None:
    """300 calls at once on a pool of 20 connections: each is refused, none waits for a
    deadline (10 s here): the burst ends long before it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/crm"

        async def run() -> list[BaseException | Reply]:
            client = HttpTransport(connections_per_origin=20)
            try:
                calls = [
                    client.request("POST", url, b"", {}, Deadline.after(10.0)) for _ in range(300)
                ]
                return await asyncio.gather(*calls, return_exceptions=True)
            finally:
                await client.aclose()

        started = time.monotonic()
        results = asyncio.run(run())
    assert all(isinstance(r, BackendUnreachable) for r in results)
    assert time.monotonic() - started < 10.0


def test_a_call_that_fails_times_out_or_is_cancelled_gives_its_place_back(raw_server) -> None:  # type: ignore[no-untyped-def]
    """One call at a time to the origin: a timed-out call, a cancelled one and a failed one
    each leave the place free, so the next call goes at once instead of queueing."""
    answered = threading.Event()

    def serve(conn: socket.socket) -> None:
        if not answered.is_set():  # the first two calls: no answer
            time.sleep(2)
            return
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: text/xml\r\n\r\n<x/>")

    url = raw_server(serve)

    async def run() -> tuple[BaseException | None, Reply]:
        client = HttpTransport(limits={url: 1}, queue=5, queue_timeout=0.5)
        try:
            with pytest.raises(BackendTimeout):
                await client.request("POST", url, b"", {}, Deadline.after(0.2))
            call = asyncio.ensure_future(client.request("POST", url, b"", {}, Deadline.after(5)))
            await asyncio.sleep(0.2)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            answered.set()
            failed = None
            try:
                await client.request("POST", url, b"", {"X-Bad": "a\r\nb"}, Deadline.after(5))
            except Exception as exc:  # noqa: BLE001 - whatever aiohttp says of the header
                failed = exc
            return failed, await client.request("POST", url, b"", {}, Deadline.after(5))
        finally:
            await client.aclose()

    failed, reply = asyncio.run(run())
    assert failed is not None
    assert reply.content == b"<x/>"


def test_backend_closing_mid_reply_is_a_backend_error(raw_server) -> None:  # type: ignore[no-untyped-def]
    def hang_up(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<partial")

    url = raw_server(hang_up)
    with pytest.raises(BackendError) as caught:
        send(url)
    assert caught.value.slug == "backend-error"
    assert "partial" not in caught.value.detail


async def _client_port(scope: Any, receive: Any, send: Any) -> None:
    """An ASGI peer that answers with the client's port: one port, one connection."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(scope["client"][1]).encode()})


def test_one_pool_per_origin_kept_alive_and_closed_at_shutdown() -> None:
    with serve_in_thread(_client_port) as base:
        other = base.replace("127.0.0.1", "localhost")

        async def run() -> tuple[HttpTransport, set[bytes]]:
            client = HttpTransport()
            client.open([base + "/crm", base + "/other", other + "/crm"])
            assert len(client._pools) == 2  # one per origin, not per path
            ports = set()
            for _ in range(5):
                reply = await client.request("POST", base + "/crm", b"", {}, Deadline.after(5))
                ports.add(reply.content)
            await client.aclose()
            return client, ports

        client, ports = asyncio.run(run())
    assert client._pools == {}
    assert len(ports) == 1  # five calls, one kept-alive connection


def test_origin_names_scheme_host_and_port() -> None:
    assert origin("http://crm.internal/soap") == "http://crm.internal:80"
    assert origin("https://crm.internal/soap") == "https://crm.internal:443"
    assert origin("http://127.0.0.1:8081/crm?wsdl") == "http://127.0.0.1:8081"


def test_calls_waiting_for_a_connection_are_served_in_order() -> None:
    """40 callers, each calling again as soon as it has its answer, share 5 connections:
    every call reaches the backend near its turn. Without the gate, aiohttp hands a freed
    connection to whichever call asks next, and a waiting call can be passed by dozens."""
    arrived: list[int] = []

    async def recorder(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        arrived.append(int(dict(scope["headers"])[b"x-seq"]))
        await asyncio.sleep(0.001)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    issued = iter(range(10**6))

    async def run(base: str) -> None:
        client = HttpTransport(connections_per_origin=5)

        async def caller() -> None:
            for _ in range(10):
                headers = {"x-seq": str(next(issued))}
                await client.request("GET", base + "/", None, headers, Deadline.after(30))

        try:
            await asyncio.gather(*(caller() for _ in range(40)))
        finally:
            await client.aclose()

    with serve_in_thread(recorder) as base:
        asyncio.run(run(base))
    assert sorted(arrived) == list(range(400))
    assert max(abs(position - seq) for position, seq in enumerate(arrived)) <= 10


def test_cookies_a_backend_sets_never_ride_on_other_calls() -> None:
    """One pool serves every client: a session cookie handed to one caller's call must not
    be sent on the next caller's (by host name, where a cookie jar would keep it)."""
    seen: list[str | None] = []

    async def sets_cookies(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        seen.append(dict(scope["headers"]).get(b"cookie", b"").decode() or None)
        headers = [(b"set-cookie", b"JSESSIONID=user-a-secret; Path=/")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    with serve_in_thread(sets_cookies) as base:
        url = base.replace("127.0.0.1", "localhost") + "/crm"

        async def run() -> None:
            client = HttpTransport()
            try:
                for caller in ("a", "b"):
                    headers = {"x-caller": caller}
                    await client.request("GET", url, None, headers, Deadline.after(5))
            finally:
                await client.aclose()

        asyncio.run(run())
    assert seen == [None, None]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://crm.internal:99999/soap", "port"),
        ("http://crm.internal:abc/soap", "port"),
        ("http://crm.internal\\@evil.example/soap", "host"),
        ("ftp://crm.internal/soap", "http(s)"),
        ("http:///soap", "http(s)"),
    ],
)
def test_addresses_that_cannot_be_a_backend(url: str, problem: str) -> None:
    found = origin_problem(url)
    assert found is not None and problem in found


def test_addresses_that_can() -> None:
    for url in ("http://127.0.0.1:8081/crm", "https://user:pw@crm.internal/soap"):
        assert origin_problem(url) is None


def gzip_bomb(mebibytes: int) -> bytes:
    """`mebibytes` MiB of zeros, gzipped (about 1 KB on the wire per MiB), built in pieces."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip container
    zeros = bytes(MiB)
    return b"".join([*(packer.compress(zeros) for _ in range(mebibytes)), packer.flush()])


def test_a_gzip_bomb_is_cut_at_the_cap_with_flat_memory(httpserver: HTTPServer) -> None:
    """256 MiB behind 256 KB of gzip: decompression stops at the cap, memory stays near it."""
    bomb = gzip_bomb(256)
    httpserver.expect_request("/crm").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    tracemalloc.start()
    try:
        with pytest.raises(BackendReplyTooLarge):
            send(httpserver.url_for("/crm"), max_bytes=2 * MiB, seconds=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB
