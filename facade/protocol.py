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

This leans on how uvicorn's httptools protocol writes (one `write` per head, lower-case
header names, `on_response_complete` at the end of each response); tests/test_protocol.py
compares the bytes it sends with stock uvicorn's for every kind of answer, so an upgrade
that changes them fails there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a `HeadHolding` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadHolding(transport))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        if isinstance(self.transport, HeadHolding):
            self.transport.response_complete()
        super().on_response_complete()


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
