"""The HTTP server's protocol: uvicorn's httptools protocol, with a response's head sent in
one write with its body.

uvicorn writes the status line and headers the moment the app starts its answer, and the
body when it comes: two system calls, and two TCP segments for the client to take in, for
every answer. Nearly every answer of the facade has its length and its whole body right
behind its start, so when the start announces a body of known length the head is held
and leaves with the body's first bytes. Anything else (HEAD, 204, 304, an empty body, a
body in chunks) is sent the moment it starts, as before.

    uvicorn.run(app, http=HttpProtocol)

This leans on uvicorn's `RequestResponseCycle` (its `send`, `transport`, `scope`,
`chunked_encoding`, `expected_content_length`, `response_started`, `disconnected`) and on
`HttpToolsProtocol._start_asgi_task`; tests/test_protocol.py compares the bytes it sends
with stock uvicorn's for every kind of answer, so an upgrade that moves them fails there.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose cycles send a head with its body."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        cycle.send = HeadWithBody(cycle).send  # type: ignore[method-assign]
        super()._start_asgi_task(cycle, app)


class HeadWithBody:
    """One response's `send`: the cycle's own, with a head held until its body. While it is
    held the cycle writes through a `_Prefixed` transport, so whatever the cycle does next
    (write the body, or close the connection when the app fails) sends the head first."""

    __slots__ = ("cycle", "forward", "held")

    def __init__(self, cycle: RequestResponseCycle) -> None:
        self.cycle = cycle
        self.forward = cycle.send
        self.held: _Prefixed | None = None

    async def send(self, message: Any) -> None:
        held, self.held = self.held, None
        if held is not None:
            try:
                await self.forward(message)
            finally:
                self.cycle.transport = held.transport
                if not self.cycle.disconnected:
                    held.flush()  # the message wrote nothing (or failed): the head goes alone
        elif message["type"] == "http.response.start" and not self.cycle.response_started:
            await self._start(message)
        else:
            await self.forward(message)

    async def _start(self, message: Any) -> None:
        cycle = self.cycle
        transport = cycle.transport
        head = _Head()
        cycle.transport = head  # type: ignore[assignment]
        try:
            await self.forward(message)
        finally:
            cycle.transport = transport
        if head.data is None:  # nothing to send: the client has gone
            return
        if _body_follows(cycle):
            self.held = _Prefixed(transport, head.data)
            cycle.transport = self.held  # type: ignore[assignment]
        else:
            transport.write(head.data)


def _body_follows(cycle: RequestResponseCycle) -> bool:
    """The head announced a body of known length that the next message brings."""
    return (
        cycle.chunked_encoding is False
        and cycle.expected_content_length > 0
        and cycle.scope["method"] != "HEAD"
    )


class _Head:
    """Stands for the transport while the cycle writes a head: keeps what it writes."""

    __slots__ = ("data",)

    def __init__(self) -> None:
        self.data: bytes | None = None

    def write(self, data: bytes) -> None:
        self.data = data if self.data is None else self.data + data


class _Prefixed:
    """Stands for the transport while a head is held: the first write carries it along,
    and a close sends it first."""

    __slots__ = ("transport", "head")

    def __init__(self, transport: asyncio.Transport, head: bytes) -> None:
        self.transport = transport
        self.head: bytes | None = head

    def write(self, data: bytes) -> None:
        head, self.head = self.head, None
        if head is None:
            self.transport.write(data)
        else:
            self.transport.writelines((head, data))

    def flush(self) -> None:
        if self.head is not None:
            self.write(b"")

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)
