"""The server protocol sends every kind of answer byte for byte as stock uvicorn does, and
a head with a body of known length in one write."""

from __future__ import annotations

import asyncio
import collections
import gc
import re
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from bursts import burst_client, open_files
from servers import request_body, serve_in_thread
from uvicorn.server import ServerState

from facade.protocol import HttpProtocol, _batches

BIG = b"x" * 1_000_000
MEDIUM = bytes(range(256)) * 256
HEAD_SEEN = threading.Event()
"""Set by a client once the head of a streamed answer reached it."""


async def app(scope: Any, receive: Any, send: Any) -> None:
    """One answer of each kind, chosen by the path."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/echo":
        await _answer(send, 200, await request_body(receive))
    elif path == "/plain":
        await _answer(send, 200, b"hello")
    elif path == "/big":
        await _answer(send, 200, BIG)
    elif path == "/medium":
        await _answer(send, 200, MEDIUM)
    elif path == "/empty":
        await _answer(send, 200, b"")
    elif path == "/no-content":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/not-modified":
        await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"t"')]})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/chunks":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        await send({"type": "http.response.body", "body": b"two"})
    elif path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for _ in range(500):  # the body waits until the client has the head (5 s at most)
            if HEAD_SEEN.is_set():
                break
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"late"})
    elif path == "/split":
        await send({"type": "http.response.start", "status": 200, "headers": _length(6)})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"def"})
    elif path == "/close":
        headers = [*_length(2), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})
    elif path == "/fails-after-start":
        await send({"type": "http.response.start", "status": 200, "headers": _length(5)})
        raise RuntimeError("the app failed after its start")
    elif path == "/returns-after-start":
        await send({"type": "http.response.start", "status": 200, "headers": _length(5)})


def _length(size: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-length", str(size).encode()), (b"content-type", b"text/plain")]


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _length(len(body))})
    await send({"type": "http.response.body", "body": body})


REQUESTS = {
    "plain": b"GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "big": b"GET /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "head": b"HEAD /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "empty": b"GET /empty HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "no content": b"GET /no-content HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "not modified": b"GET /not-modified HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "chunks": b"GET /chunks HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "split body": b"GET /split HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    "app closes": b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n",
    "http/1.0": b"GET /plain HTTP/1.0\r\n\r\n",
    "fails after start": b"GET /fails-after-start HTTP/1.1\r\nHost: t\r\n\r\n",
    "returns after start": b"GET /returns-after-start HTTP/1.1\r\nHost: t\r\n\r\n",
    "pipelined": (
        b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"
        b"HEAD /plain HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /empty HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /plain HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    ),
    "body": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping",
    "unknown length": b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
    b"Connection: close\r\n\r\n2\r\nab\r\n0\r\n\r\n",
}
DATE = re.compile(rb"date: [^\r]*\r\n")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    with serve_in_thread(app, http="httptools") as stock, serve_in_thread(app) as ours:
        yield stock, ours


def _exchange(base: str, request: bytes) -> bytes:
    """Everything the server sends for `request` until it closes the connection."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(1 << 16):
            received += chunk
    return DATE.sub(b"", received)


@pytest.mark.parametrize("kind", list(REQUESTS))
def test_every_kind_of_answer_goes_out_as_stock_uvicorn_sends_it(
    servers: tuple[str, str], kind: str
) -> None:
    stock, ours = servers
    sent = _exchange(ours, REQUESTS[kind])
    assert sent == _exchange(stock, REQUESTS[kind])
    assert sent.startswith(b"HTTP/1.1 ") or (kind.startswith(("fails", "returns")) and sent)


def test_expect_continue_is_answered_before_the_body_is_sent(servers: tuple[str, str]) -> None:
    stock, ours = servers
    for base in (stock, ours):
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
            )
            assert sock.recv(1 << 16).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(b"hi")
            received = b""
            while chunk := sock.recv(1 << 16):
                received += chunk
        assert received.startswith(b"HTTP/1.1 200 OK") and received.endswith(b"\r\n\r\nhi")


@pytest.mark.parametrize("path", ["/stream", "/no-content", "/not-modified", "/empty"])
def test_a_head_with_no_body_of_known_length_behind_it_is_sent_at_once(path: str) -> None:
    """A streamed answer's head reaches the client before its first chunk exists."""
    HEAD_SEEN.clear()
    with serve_in_thread(app, http=HttpProtocol) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            first = sock.recv(1 << 16)
            HEAD_SEEN.set()
            while chunk := sock.recv(1 << 16):
                first += b"" if b"\r\n\r\n" in first else chunk
    assert b"\r\n\r\n" in first
    assert b"late" not in first


class _CountingProtocol(HttpProtocol):
    """Counts the transport's writes per connection."""

    writes: list[int] = []

    def connection_made(self, transport: Any) -> None:
        counted = _CountingTransport(transport, self.writes)
        super().connection_made(counted)


class _CountingTransport:
    def __init__(self, transport: Any, writes: list[int]) -> None:
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(1)
        self._transport.write(data)

    def writelines(self, data: Any) -> None:
        self._writes.append(1)
        self._transport.writelines(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def test_a_head_and_its_body_leave_in_one_write() -> None:
    with serve_in_thread(app, http=_CountingProtocol) as base:
        answer = _exchange(base, REQUESTS["plain"])
        deadline = time.monotonic() + 5
        while not _CountingProtocol.writes and time.monotonic() < deadline:
            time.sleep(0.01)
    assert answer.endswith(b"\r\n\r\nhello")
    assert _CountingProtocol.writes == [1]


async def _burst(base: str, clients: int) -> collections.Counter[str]:
    """`clients` callers at once, each on its own kept-alive connection, each asking for
    a small answer, a HEAD, a 64 KiB answer and an empty one; counts what came back."""
    seen: collections.Counter[str] = collections.Counter()

    async def caller(client: Any) -> None:
        for method, path, expected in (
            ("GET", "/plain", b"hello"),
            ("HEAD", "/plain", b""),
            ("GET", "/medium", MEDIUM),
            ("GET", "/empty", b""),
        ):
            answer = await client.request(method, path)
            length = answer.headers["content-length"]
            good = answer.status_code == 200 and answer.content == expected
            good = good and length == str(len(b"hello" if method == "HEAD" else expected))
            seen["right" if good else f"{method} {path}: {answer.status_code}"] += 1

    async with burst_client(base, connections=clients) as client:
        await asyncio.gather(*(caller(client) for _ in range(clients)))
    return seen


def test_a_burst_of_a_thousand_clients_gets_every_answer_whole() -> None:
    open_files(3 * 1000)  # each client holds two descriptors here: its end and the server's
    with serve_in_thread(app, http=HttpProtocol) as base:
        seen = asyncio.run(_burst(base, 1000))
    assert seen == {"right": 4000}


# -- answers an app makes at once --------------------------------------------------------

NOW = b"made at once"


class ReadyApp:
    """`app`, which also makes the answer to /now... at once, as the facade makes a fresh
    hit's; called, it gives the very same answer."""

    def __init__(self) -> None:
        self.made = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/now"):
            await _answer(send, 200, NOW)
        else:
            await app(scope, receive, send)

    def answer_now(self, scope: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        path = scope["path"]
        if path == "/now-fails":
            raise RuntimeError("no answer at once")
        if path == "/now-breaks-a-line":
            return 200, [(b"x-note", b"a\r\nset-cookie: stolen"), *_length(len(NOW))], NOW
        if not path.startswith("/now"):
            return None
        self.made += 1
        return 200, _length(len(NOW)), NOW


AT_ONCE = {  # a request, and how many of its answers are made at once
    "get": (b"GET /now HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1),
    "head": (b"HEAD /now HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 1),
    "http/1.0": (b"GET /now HTTP/1.0\r\n\r\n", 1),
    "pipelined": (
        b"GET /now HTTP/1.1\r\nHost: t\r\n\r\n"
        b"HEAD /now HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /now HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        3,
    ),
    "behind a slower answer": (
        b"GET /split HTTP/1.1\r\nHost: t\r\n\r\nGET /now HTTP/1.1\r\nHost: t\r\n"
        b"Connection: close\r\n\r\n",
        1,
    ),
    "waiting for 100 continue": (
        b"GET /now HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
        0,
    ),
    "failing": (b"GET /now-fails HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", 0),
    "with a line break in a header": (
        b"GET /now-breaks-a-line HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        0,
    ),
}


@pytest.mark.parametrize("kind", list(AT_ONCE))
def test_an_answer_made_at_once_goes_out_as_the_app_would_send_it(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    request, made = AT_ONCE[kind]
    ready = ReadyApp()
    with serve_in_thread(ready, http="httptools") as stock, serve_in_thread(ready) as ours:
        expected = _exchange(stock, request)
        assert ready.made == 0  # stock uvicorn never asks
        sent = _exchange(ours, request)
    assert sent == expected
    assert ready.made == made
    assert b"stolen" not in sent
    if kind in ("failing", "with a line break in a header"):
        assert [r for r in caplog.records if r.name == "facade.protocol"]


def test_no_answer_is_made_at_once_while_uvicorn_writes_its_own_access_log() -> None:
    ready = ReadyApp()
    with serve_in_thread(ready, access_log=True) as ours:
        sent = _exchange(ours, AT_ONCE["get"][0])
    assert sent.endswith(b"\r\n\r\n" + NOW)
    assert ready.made == 0


def test_a_burst_of_a_thousand_clients_gets_answers_made_at_once_whole() -> None:
    open_files(3 * 1000)
    ready = ReadyApp()

    async def callers(base: str) -> collections.Counter[str]:
        seen: collections.Counter[str] = collections.Counter()

        async def caller(client: Any) -> None:
            for method, path, expected in (
                ("GET", "/now", NOW),
                ("HEAD", "/now", b""),
                ("GET", "/plain", b"hello"),
                ("GET", "/now", NOW),
            ):
                answer = await client.request(method, path)
                good = answer.status_code == 200 and answer.content == expected
                seen["right" if good else f"{method} {path}: {answer.status_code}"] += 1

        async with burst_client(base, connections=1000) as client:
            await asyncio.gather(*(caller(client) for _ in range(1000)))
        return seen

    with serve_in_thread(ready) as base:
        seen = asyncio.run(callers(base))
    assert seen == {"right": 4000}
    assert ready.made == 3000


class _Transport(asyncio.Transport):
    """A connection's transport in memory: what was written, and whether it was closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += bytes(data)

    def writelines(self, lines: Any) -> None:
        self.written += b"".join(lines)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


def _connected(app: Any) -> tuple[HttpProtocol, _Transport]:
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, proxy_headers=False, http=HttpProtocol
    )
    config.load()
    protocol = HttpProtocol(config, ServerState(), {})
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


def test_reads_of_one_round_are_answered_together_once_it_has_read_them_all() -> None:
    async def scenario() -> tuple[int, int, list[bytes]]:
        ready = ReadyApp()
        connections = [_connected(ready) for _ in range(3)]
        for protocol, _ in connections:
            protocol.data_received(b"GET /now HTTP/1.1\r\nHost: t\r\n\r\n")
        made_while_reading = ready.made
        await asyncio.sleep(0.05)
        return made_while_reading, ready.made, [transport.written for _, transport in connections]

    made_while_reading, made, written = asyncio.run(scenario())
    assert (made_while_reading, made) == (0, 3)
    assert all(sent.endswith(b"\r\n\r\n" + NOW) for sent in written)


def test_a_read_whose_client_left_before_its_round_ended_goes_to_the_app() -> None:
    async def scenario() -> tuple[int, bytes]:
        ready = ReadyApp()
        protocol, transport = _connected(ready)
        protocol.data_received(b"GET /now HTTP/1.1\r\nHost: t\r\n\r\n")
        protocol.connection_lost(None)
        await asyncio.sleep(0.05)
        return ready.made, transport.written

    made, written = asyncio.run(scenario())
    assert (made, written) == (0, b"")  # the app's send finds the client gone


def test_a_read_that_cannot_be_started_closes_its_connection_not_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(ReadyApp):
        def answer_now(self, scope: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
            if scope["path"] == "/now-unknown-status":
                return 999, _length(len(NOW)), NOW  # no status line exists for it
            return super().answer_now(scope)

    async def scenario() -> list[tuple[bool, bytes]]:
        ready = Broken()
        connections = [_connected(ready) for _ in range(2)]
        for (protocol, _), path in zip(connections, ("/now-unknown-status", "/now"), strict=True):
            protocol.data_received(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        await asyncio.sleep(0.05)
        return [(transport.closed, transport.written) for _, transport in connections]

    (broken_closed, broken_sent), (other_closed, other_sent) = asyncio.run(scenario())
    assert broken_closed and broken_sent == b""
    assert not other_closed and other_sent.endswith(b"\r\n\r\n" + NOW)
    assert [r for r in caplog.records if r.name == "facade.protocol"]


def test_a_read_the_app_never_answers_at_once_starts_its_task_as_it_is_parsed() -> None:
    class Choosy(ReadyApp):
        def may_answer_now(self, scope: Any) -> bool:
            return bool(scope["path"].startswith("/now"))

    async def scenario() -> list[tuple[int, int]]:
        ready = Choosy()
        seen = []
        for path in ("/plain", "/now"):
            protocol, _ = _connected(ready)
            protocol.data_received(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            seen.append((len(protocol.tasks), len(protocol.batch.waiting)))
        await asyncio.sleep(0.05)
        return seen

    assert asyncio.run(scenario()) == [(1, 0), (0, 1)]


def test_a_loop_s_batch_goes_with_its_loop() -> None:
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def serve_one() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        protocol, _ = _connected(ReadyApp())
        protocol.data_received(b"GET /now HTTP/1.1\r\nHost: t\r\n\r\n")
        await asyncio.sleep(0.01)
        assert asyncio.get_running_loop() in _batches

    asyncio.run(serve_one())
    gc.collect()
    assert loops[0]() is None  # nothing kept the loop, its batch went with it
