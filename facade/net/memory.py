"""An in-memory transport for tests and demos: no socket, the same contract as the real one.

async def backend(request: MemoryRequest) -> Reply:
    return Reply(200, {"content-type": "text/xml"}, ENVELOPE)

transport = MemoryTransport(backend)
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from facade.errors import BackendReplyTooLarge
from facade.net.seam import DEFAULT_MAX_REPLY_BYTES, Deadline, Reply


@dataclass(frozen=True)
class MemoryRequest:
    """One request the transport was asked to send."""

    method: str
    url: str
    content: bytes | None
    headers: Mapping[str, str]


Handler = Callable[[MemoryRequest], Reply | Awaitable[Reply]]


class MemoryTransport:
    """Answers each request with `handler(request)` (sync or async), keeping the deadline
    and the size cap like the real transport does; records what was sent in `requests`.

    The handler may raise a BackendError to stand for a network failure.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[MemoryRequest] = []
        self.closed = False

    async def request(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        deadline: Deadline,
        *,
        max_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> Reply:
        started = time.perf_counter()
        sent = MemoryRequest(method, url, content, {k.lower(): v for k, v in headers.items()})
        self.requests.append(sent)
        try:
            async with asyncio.timeout(deadline.remaining()):
                answer = self.handler(sent)
                reply = await answer if inspect.isawaitable(answer) else answer
        except TimeoutError as exc:
            raise deadline.passed() from exc
        if len(reply.content) > max_bytes:
            raise BackendReplyTooLarge(max_bytes)
        headers_lower = {k.lower(): v for k, v in reply.headers.items()}
        return Reply(reply.status, headers_lower, reply.content, time.perf_counter() - started)

    async def aclose(self) -> None:
        self.closed = True
