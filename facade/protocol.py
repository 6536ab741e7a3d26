"""The HTTP server's protocol: uvicorn's httptools protocol, with a response's head sent in
one write with its body.

uvicorn writes the status line and headers the moment the app starts its answer, and the
body when it comes: two system calls, and two TCP segments for the client to take in, for
every answer. Nearly every answer of the facade has its length and its whole body right
behind its start, so a head that announces a body (a Content-Length above 0) is held and
leaves with the body's first bytes. Anything else goes at once, as before: an interim
`100 Continue`, a head with no body or a chunked one, an error answer written whole. A
held head whose body never comes leaves when the response ends (HEAD) or when the
connection closes (an app that failed after its start), so the bytes on the wire are
stock uvicorn's in every case.

    uvicorn.run(app, http=HttpProtocol)

An app may also answer a request at once, without being called: when it has an
`answer_now(scope)` (the facade's has: a fresh cache hit, facade/cache/front.py), the
protocol asks it where it would start the request's task, and writes a whole answer it gets
in one write. The request's task, the app's layers and the two ASGI sends are then skipped.
Anything it does not answer (None) goes to the app. The reads (GET, HEAD) of one round of
the event loop are asked together at its end, when their tasks would have started (`Batch`);
an app's `may_answer_now(scope)`, when it has one, rules out at once those it never answers.

This leans on how uvicorn's httptools protocol writes (one `write` per head, lower-case
header names, `on_response_complete` at the end of each response); tests/test_protocol.py
compares the bytes it sends with stock uvicorn's for every kind of answer, so an upgrade
that changes them fails there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

from starlette.types import Scope
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)

from facade.types import ReadyAnswer

log = logging.getLogger("facade.protocol")


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a `HeadHolding` transport, and sending
    the answers its app makes at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answer_now: Callable[[Scope], ReadyAnswer | None] | None = getattr(
            self.app, "answer_now", None
        )
        self.may_answer_now: Callable[[Scope], bool] | None = getattr(
            self.app, "may_answer_now", None
        )
        self.batch = _batches.get(self.loop) or _batches.setdefault(self.loop, Batch())

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadHolding(transport))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        if isinstance(self.transport, HeadHolding):
            self.transport.response_complete()
        super().on_response_complete()

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        if self._may_answer(cycle, app):
            self.batch.add(self, cycle, app)
        else:
            super()._start_asgi_task(cycle, app)

    def _may_answer(self, cycle: RequestResponseCycle, app: ASGI3Application) -> bool:
        """Whether the app may answer this request at once: a read it does not rule out
        (the facade's: a read of a route whose fresh hits it answers in front). The others
        start their task at once, as they would without this."""
        if self.answer_now is None or app is not self.app or cycle.scope["method"] not in _READS:
            return False
        may = self.may_answer_now
        try:
            return may is None or may(cycle.scope)  # type: ignore[arg-type]
        except Exception:  # the app still answers, the usual way
            log.exception("the app could not tell whether it answers at once; it answers")
            return False

    def answer_or_start(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        """Sends the answer the app makes at once, or starts the request's task."""
        if not self._answered_now(cycle):
            super()._start_asgi_task(cycle, app)

    def _answered_now(self, cycle: RequestResponseCycle) -> bool:
        """Sends the answer the app makes at once to the cycle's request, if it makes one.
        Not while the client is slow to read (the app's way waits for it), nor once it
        has gone, nor when uvicorn writes an access log of its own, nor to a client
        waiting for 100 Continue."""
        if (
            cycle.waiting_for_100_continue
            or cycle.disconnected
            or cycle.access_log
            or self.flow.write_paused
        ):
            return False
        try:
            ready = self.answer_now(cycle.scope)  # type: ignore[misc, arg-type]
        except Exception:  # the app still answers, the usual way
            log.exception("an answer made at once failed; the app answers")
            return False
        if ready is None:
            return False
        status, headers, body = ready
        lines = [STATUS_LINE[status]]
        for name, value in (*cycle.default_headers, *headers):
            lines += (name, b": ", value, b"\r\n")
        if not cycle.keep_alive:
            lines.append(b"connection: close\r\n")
        lines.append(b"\r\n")
        head = b"".join(lines)
        breaks = len(lines) - 3 * (len(cycle.default_headers) + len(headers))  # one per line
        if head.count(b"\n") != breaks or head.count(b"\r") != breaks:
            log.error("an answer made at once has a line break in a header; the app answers")
            return False
        cycle.response_started = cycle.response_complete = True
        self.transport.writelines((head, body) if cycle.scope["method"] != "HEAD" else (head,))
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()
        return True


_READS = ("GET", "HEAD")
"""The methods an app may answer at once (a cache hit); the others start their task."""


class Batch:
    """The reads of one round of the event loop, answered together once the round has
    read them all (at its end, as their tasks would have started).

    Answering each read the moment it is parsed interleaves the app's work with the
    reading of every other connection, and under load cost as much CPU per hit as the
    task it saves (bench/cache_hit.py: 71-80 us against 67-72); answered together, a hit
    costs 52-57 us, the bare endpoint 36-39."""

    __slots__ = ("waiting",)

    def __init__(self) -> None:
        self.waiting: list[tuple[HttpProtocol, RequestResponseCycle, ASGI3Application]] = []
        """(It holds no reference to its loop, the key it is kept under.)"""

    def add(
        self, protocol: HttpProtocol, cycle: RequestResponseCycle, app: ASGI3Application
    ) -> None:
        if not self.waiting:
            protocol.loop.call_soon(self.run)
        self.waiting.append((protocol, cycle, app))

    def run(self) -> None:
        waiting, self.waiting = self.waiting, []
        for protocol, cycle, app in waiting:
            try:
                protocol.answer_or_start(cycle, app)
            except Exception:  # one connection's failure must not leave the others waiting
                log.exception("a request could not be started; its connection closes")
                protocol.transport.close()


_batches: WeakKeyDictionary[asyncio.AbstractEventLoop, Batch] = WeakKeyDictionary()
"""One batch per event loop (test servers run several loops in one process)."""


class HeadHolding:
    """A connection's transport that holds a response head announcing a body until the
    body's first write, so both leave in one system call."""

    __slots__ = ("transport", "held", "at_head")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.held: bytes | None = None
        self.at_head = True
        """The next write starts a response (its head)."""

    def write(self, data: bytes) -> None:
        held = self.held
        if held is not None:
            self.held = None
            self.transport.writelines((held, data))
        elif self.at_head and _head_with_body(data):
            self.at_head = False
            self.held = data
        else:
            self.at_head = self.at_head and data.startswith(b"HTTP/1.1 1")  # 100 Continue
            self.transport.write(data)

    def response_complete(self) -> None:
        """The response ended: a head still held (HEAD) leaves; the next write is a head."""
        self._release()
        self.at_head = True

    def close(self) -> None:
        self._release()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def pause_reading(self) -> None:
        self.transport.pause_reading()

    def resume_reading(self) -> None:
        self.transport.resume_reading()

    def _release(self) -> None:
        held, self.held = self.held, None
        if held is not None:
            self.transport.write(held)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


def _head_with_body(data: bytes) -> bool:
    """A whole response head (nothing after its blank line) announcing a body."""
    return (
        data.startswith(b"HTTP/1.1 ")
        and data.endswith(b"\r\n\r\n")
        and b"\r\ncontent-length: " in data
        and b"\r\ncontent-length: 0\r\n" not in data
    )
