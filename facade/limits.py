"""What a client's request may weigh, checked before anything reads it, and the drain that
lets a client see a refusal while it is still sending.

Header count and size are checked here for every path (431): uvicorn's httptools parser
sets no limit of its own, and h11's (`h11_max_incomplete_event_size`, 16 KiB) covers only
the size. A body the facade refuses (413, or a 401 before it was read) is read and dropped
up to `drain_bytes` for at most `drain_seconds` before the answer goes out, as nginx's
lingering close does: a client that writes its whole body before reading (urllib,
requests) otherwise meets a reset and never sees the status. Past either bound the answer
is sent with `Connection: close`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facade.config.loader import LimitsConfig
from facade.errors import HeadersTooLarge
from facade.responses import problem_response


def header_problem(headers: list[tuple[bytes, bytes]], limits: LimitsConfig) -> str | None:
    """Why the request's header fields are too many or too large, or None."""
    if len(headers) > limits.max_headers:
        count = len(headers)
        return f"The request has {count} header fields; at most {limits.max_headers} are accepted"
    size = sum(len(name) + len(value) for name, value in headers)
    if size > limits.max_header_bytes:
        return (
            f"The request's header fields hold {size} bytes; at most "
            f"{limits.max_header_bytes} are accepted"
        )
    return None


@dataclass
class _Body:
    """Whether the client has sent its whole body yet, and whether it waits for a
    `100 Continue` before sending any (which reading would make the server send)."""

    done: bool
    waits: bool = False


def _body(scope: Scope) -> _Body:
    has_body = waits = False
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding":
            has_body = True
        elif name == b"content-length":
            has_body = value.strip() not in (b"0", b"")
        elif name == b"expect":
            waits = value.strip().lower() == b"100-continue"
    return _Body(done=not has_body, waits=waits)


class LimitsMiddleware:
    """Pure ASGI middleware: header limits (431) and the drain of unread bodies."""

    def __init__(self, app: ASGIApp, limits: LimitsConfig) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = _body(scope)

        async def tracked_receive() -> Message:
            body.waits = False  # the server sends 100 Continue when the app first reads
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body", False):
                body.done = True
            return message

        async def draining_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not body.done:
                if not body.waits:  # a client waiting for 100 Continue sends nothing more
                    await self._drain(receive, body)
                if not body.done:
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        problem = header_problem(scope.get("headers", []), self.limits)
        if problem is not None:
            request_id = scope.get("state", {}).get("request_id", "")
            response = problem_response(HeadersTooLarge(problem), request_id, scope["path"])
            await response(scope, tracked_receive, draining_send)
            return
        await self.app(scope, tracked_receive, draining_send)

    async def _drain(self, receive: Receive, body: _Body) -> None:
        """Read and drop the rest of the body, within the byte and time bounds."""
        left = self.limits.drain_bytes
        try:
            async with asyncio.timeout(self.limits.drain_seconds):
                while not body.done and left >= 0:
                    message = await receive()
                    if message["type"] == "http.disconnect" or not message.get("more_body"):
                        body.done = True
                    left -= len(message.get("body", b""))
        except TimeoutError:
            return
