"""Fresh cache hits answered before the facade's own middleware: a pure ASGI layer that
takes the route the mapped front matched (facade/dispatch.py), builds the request context
the one way the pipeline does, and sends the stored bytes with the request id, counted and
logged as observability does for every request. Validation, pacing and the middleware are
skipped; anything else (a miss, a stale entry, a body, another method, a route that does
not cache) goes on unchanged, and so does a hit whose lookup fails for any reason.

    MappedFront(framework, mapped, own, lambda endpoint: CacheFront(around(endpoint), ...))
    # each mapped endpoint names its `front_route`: front_route(by_method, admits_all)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from facade.backends.base import BackendReply
from facade.compression import Compressor, Kept, Representation
from facade.context import REQUEST_ID_HEADER
from facade.guard import has_body, scope_context
from facade.mapping.loader import RouteMapping
from facade.observability import UNMATCHED, Metrics, record, request_id_for, request_id_var
from facade.pipeline import ServedRoute, early_hit
from facade.responses import BACKEND_HEADER

JSON_TYPE = (b"content-type", b"application/json")
REQUEST_ID_HEADER_BYTES = REQUEST_ID_HEADER.lower().encode()
log = logging.getLogger("facade.cache")


def front_route(
    by_method: Mapping[str, ServedRoute],
    admits_all: Callable[[RouteMapping], bool] = lambda mapping: True,
) -> ServedRoute | None:
    """A path's GET route when its fresh hits may be answered in front: it caches, and it
    asks nothing of its callers (a route behind authentication or a rate limit is looked
    up after the gate, never here)."""
    route = by_method.get("GET")
    if route is None or not (_caches(route) and admits_all(route.compiled.mapping)):
        return None
    return route


def _caches(route: ServedRoute) -> bool:
    mapping = route.compiled.mapping
    return route.cache is not None and mapping.cache.ttl is not None and mapping.legacy.safe


class CacheFront:
    """Pure ASGI middleware answering fresh hits of cached GET routes itself; the matched
    endpoint (in the scope) names its route through `front_route`."""

    def __init__(self, app: ASGIApp, metrics: Metrics, compressor: Compressor) -> None:
        self.app = app
        self.metrics = metrics
        self.compressor = compressor
        """Hits leave as every answer does: in the coding the client accepts, compressed
        once per entry and coding (facade.compression)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = getattr(scope.get("endpoint"), "front_route", None)
        if route is not None and scope["method"] in ("GET", "HEAD"):
            started = time.perf_counter()
            try:
                found = self._hit(scope, route)
            except Exception:  # the whole way still answers, and reports the failure
                log.exception("cache front failed; the request goes the whole way")
                found = None
            if found is not None:
                request_id = request_id_for(scope)  # made only for a hit: the app makes its own
                scope["state"]["request_id"] = request_id
                token = request_id_var.set(request_id)
                try:
                    reply, asked = found
                    status = await self._answer(
                        send, scope["method"], route, reply, asked, request_id
                    )
                    record(self.metrics, scope, status, time.perf_counter() - started, request_id)
                finally:
                    request_id_var.reset(token)
                return
        await self.app(scope, receive, send)

    async def _answer(
        self,
        send: Send,
        method: str,
        route: ServedRoute,
        reply: BackendReply,
        asked: Mapping[str, str],
        request_id: str,
    ) -> int:
        """Sends the hit as `_PathEndpoint.answer` in facade.app would; returns the status.
        Most hits are sent as they are kept (no coding to choose, no validator to compare):
        their headers go out without a representation being made."""
        size = len(reply.encoded)
        if "if-none-match" in asked or self.compressor.varies(method, reply.status, size):
            sent = await self._represent(method, route, reply, asked)
            return await _send(send, sent.status, sent.headers.items(), sent.body, request_id)
        headers = (*reply.headers.items(), (BACKEND_HEADER, reply.side))
        return await _send(send, reply.status, headers, reply.encoded, request_id)

    async def _represent(
        self, method: str, route: ServedRoute, reply: BackendReply, asked: Mapping[str, str]
    ) -> Representation:
        """The hit in the coding the client accepts, or a 304."""
        tag, ttl = reply.headers.get("etag"), route.compiled.mapping.cache.ttl
        kept = Kept(tag, route.name, reply.side, ttl) if tag and ttl else None
        headers = {**reply.headers, BACKEND_HEADER: reply.side}
        return await self.compressor.represent(
            method, reply.status, reply.encoded, headers, asked, kept
        )

    def _hit(
        self, scope: Scope, route: ServedRoute
    ) -> tuple[BackendReply, Mapping[str, str]] | None:
        """The fresh hit and the request's headers (lower-case names), or None."""
        if has_body(scope):
            return None
        # the request id is no part of a key: the lookup goes without one
        context = scope_context(scope, route.name, UNMATCHED, scope.get("path_params", {}))
        reply = early_hit(route, context)
        if reply is None:
            return None
        state = scope.setdefault("state", {})
        state["route"], state["side"] = route.name, reply.side
        return reply, context.headers


async def _send(
    send: Send, status: int, headers: Iterable[tuple[str, str]], body: bytes, request_id: str
) -> int:
    """The answer with the request id, as the observability middleware would send it;
    returns the status sent."""
    head = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    head.append((REQUEST_ID_HEADER_BYTES, request_id.encode()))
    if status != 304:
        head += [(b"content-length", str(len(body)).encode()), JSON_TYPE]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
    return status
