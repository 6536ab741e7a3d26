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
from facade.compression import Compressor, Kept
from facade.context import REQUEST_ID_HEADER
from facade.guard import has_body, scope_context
from facade.mapping.loader import RouteMapping
from facade.observability import UNMATCHED, Metrics, record, request_id_for, request_id_var
from facade.pipeline import ServedRoute, early_hit
from facade.responses import BACKEND_HEADER
from facade.types import ReadyAnswer

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
    endpoint (in the scope) names its route through `front_route`. A server that can send
    an answer without the app asks `answer_now` first (facade/protocol.py)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, compressor: Compressor) -> None:
        self.app = app
        self.metrics = metrics
        self.compressor = compressor
        """Hits leave as every answer does: in the coding the client accepts, compressed
        once per entry and coding (facade.compression)."""

    def may_answer_now(self, scope: Scope) -> bool:
        """A read of a route whose fresh hits are answered here (the endpoint is matched)."""
        return _front_route(scope) is not None

    def answer_now(self, scope: Scope) -> ReadyAnswer | None:
        """The whole answer to a fresh hit when nothing is left to await (it goes as it is
        kept, as a 304, or in a coding already kept), counted and logged. None otherwise:
        the request then goes through the app, and what the lookup found here (a hit, or
        nothing) waits for it in the scope's state, so that it is neither looked up nor
        counted twice."""
        route = _front_route(scope)
        if route is None:
            return None
        started = time.perf_counter()
        found = self._found(scope, route)
        sent = None if found is None else self._sent_now(scope["method"], route, *found)
        if sent is None:  # a miss, or a compression to run: the app's way awaits it
            scope.setdefault("state", {})[_FOUND] = found
            return None
        request_id = request_id_for(scope)
        scope["state"]["request_id"] = request_id
        token = request_id_var.set(request_id)
        try:
            status, headers, body = sent
            answer = (status, _head(status, headers, body, request_id), body)
            record(self.metrics, scope, status, time.perf_counter() - started, request_id)
        finally:
            request_id_var.reset(token)
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = _front_route(scope)
        if route is not None:
            started = time.perf_counter()
            state = scope.get("state", {})
            found = state.pop(_FOUND) if _FOUND in state else self._found(scope, route)
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
        """Sends the hit as `_PathEndpoint.answer` in facade.app would; returns the status."""
        sent = self._as_kept(method, reply, asked)
        if sent is None:
            representation = await self.compressor.represent(
                method, reply.status, reply.encoded, _headers(reply), asked, _kept(route, reply)
            )
            sent = representation.status, representation.headers.items(), representation.body
        status, headers, body = sent
        head = _head(status, headers, body, request_id)
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})
        return status

    def _sent_now(
        self, method: str, route: ServedRoute, reply: BackendReply, asked: Mapping[str, str]
    ) -> _Sent | None:
        """The hit as this client gets it, when no compression has to run."""
        sent = self._as_kept(method, reply, asked)
        if sent is not None:
            return sent
        represented = self.compressor.represent_now(
            method, reply.status, reply.encoded, _headers(reply), asked, _kept(route, reply)
        )
        if represented is None:
            return None
        return represented.status, represented.headers.items(), represented.body

    def _as_kept(self, method: str, reply: BackendReply, asked: Mapping[str, str]) -> _Sent | None:
        """Most hits go as they are kept (no coding to choose, no validator to compare):
        their headers go out without a representation being made. None for the others."""
        if "if-none-match" in asked or self.compressor.varies(
            method, reply.status, len(reply.encoded)
        ):
            return None
        return reply.status, (*reply.headers.items(), (BACKEND_HEADER, reply.side)), reply.encoded

    def _found(self, scope: Scope, route: ServedRoute) -> _Found | None:
        """The fresh hit and the request's headers (lower-case names), or None; a lookup
        that fails is reported and the request goes the whole way."""
        try:
            return self._hit(scope, route)
        except Exception:  # the whole way still answers, and reports the failure
            log.exception("cache front failed; the request goes the whole way")
            return None

    def _hit(self, scope: Scope, route: ServedRoute) -> _Found | None:
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


_Found = tuple[BackendReply, Mapping[str, str]]
"""A fresh hit and the request's headers."""
_Sent = tuple[int, Iterable[tuple[str, str]], bytes]
"""Status, headers and body of an answer as it leaves."""
_FOUND = "facade.front_lookup"
"""Where `answer_now` leaves what its lookup found (None for nothing) for the app's way."""


def _front_route(scope: Scope) -> ServedRoute | None:
    """The route of a GET or HEAD whose fresh hits are answered in front, or None."""
    if scope["method"] not in ("GET", "HEAD"):
        return None
    route: ServedRoute | None = getattr(scope.get("endpoint"), "front_route", None)
    return route


def _headers(reply: BackendReply) -> dict[str, str]:
    return {**reply.headers, BACKEND_HEADER: reply.side}


def _kept(route: ServedRoute, reply: BackendReply) -> Kept | None:
    """Where the hit's compressed forms are kept: by its ETag, for the route's ttl."""
    tag, ttl = reply.headers.get("etag"), route.compiled.mapping.cache.ttl
    return Kept(tag, route.name, reply.side, ttl) if tag and ttl else None


def _head(
    status: int, headers: Iterable[tuple[str, str]], body: bytes, request_id: str
) -> list[tuple[bytes, bytes]]:
    """The answer's header lines with the request id, as the observability middleware
    would send them."""
    head = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    head.append((REQUEST_ID_HEADER_BYTES, request_id.encode()))
    if status != 304:
        head += [(b"content-length", str(len(body)).encode()), JSON_TYPE]
    return head
