"""Fresh cache hits answered in front of the framework: a pure ASGI layer, outermost, that
matches the path against the route table's own patterns, builds the request context the one
way the pipeline does, and sends the stored bytes with the request id, counted and logged
as observability does for every request. Routing, validation, pacing and the framework's
middleware are skipped; anything else (a miss, a stale entry, a body, another method, a
path of a route that does not cache) goes on to the app unchanged, and so does a hit whose
lookup fails for any reason.

    CacheFront(app_stack, lambda: current.configuration.front, metrics)
    # front = front_paths(by_path), made with each configuration
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.convertors import Convertor
from starlette.datastructures import Headers
from starlette.routing import compile_path
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
log = logging.getLogger("facade.cache")


@dataclass(frozen=True)
class FrontPath:
    """One path of the table, in matching order; `route` is its GET route when that caches."""

    pattern: re.Pattern[str]
    convertors: Mapping[str, Convertor[Any]]
    route: ServedRoute | None


def front_paths(
    by_path: Mapping[str, Mapping[str, ServedRoute]],
    admits_all: Callable[[RouteMapping], bool] = lambda mapping: True,
) -> tuple[FrontPath, ...]:
    """The paths in the table's order (a path that does not cache still wins over a later
    one it shadows), each with its GET route when that route caches and asks nothing of
    its callers (`admits_all`: a route behind authentication or a rate limit is served
    after the gate, never here); paths after the last cached one cannot lead to a hit and
    are left out (none at all when nothing caches)."""
    paths = []
    for path, by_method in by_path.items():
        pattern, _, convertors = compile_path(path)
        route = by_method.get("GET")
        if route is not None and not (_caches(route) and admits_all(route.compiled.mapping)):
            route = None
        paths.append(FrontPath(pattern, convertors, route))
    cached = [index for index, path in enumerate(paths) if path.route is not None]
    return tuple(paths[: cached[-1] + 1]) if cached else ()


def _caches(route: ServedRoute) -> bool:
    mapping = route.compiled.mapping
    return route.cache is not None and mapping.cache.ttl is not None and mapping.legacy.safe


class CacheFront:
    """Pure ASGI middleware answering fresh hits of cached GET routes itself."""

    def __init__(
        self,
        app: ASGIApp,
        paths: Callable[[], Sequence[FrontPath]],
        metrics: Metrics,
        compressor: Compressor,
    ) -> None:
        self.app = app
        self.paths = paths
        """The front paths of the configuration served now (a reload replaces them)."""
        self.metrics = metrics
        self.compressor = compressor
        """Hits leave as every answer does: in the coding the client accepts, compressed
        once per entry and coding (facade.compression)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        paths = self.paths()
        if paths and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            started = time.perf_counter()
            try:
                found = self._hit(scope, paths)
            except Exception:  # the whole way still answers, and reports the failure
                log.exception("cache front failed; the request goes the whole way")
                found = None
            if found is not None:
                route, reply = found
                request_id = request_id_for(scope)  # made only for a hit: the app makes its own
                state = scope.setdefault("state", {})
                state["request_id"] = request_id
                token = request_id_var.set(request_id)
                try:
                    sent = await self._represent(scope, route, reply)
                    status = await _send(send, sent, request_id)
                    record(self.metrics, scope, status, time.perf_counter() - started, request_id)
                finally:
                    request_id_var.reset(token)
                return
        await self.app(scope, receive, send)

    async def _represent(
        self, scope: Scope, route: ServedRoute, reply: BackendReply
    ) -> Representation:
        """The hit as `_PathEndpoint.answer` in facade.app would send it, 304 included."""
        tag, ttl = reply.headers.get("etag"), route.compiled.mapping.cache.ttl
        kept = Kept(tag, route.name, reply.side, ttl) if tag and ttl else None
        headers = {**reply.headers, BACKEND_HEADER: reply.side}
        return await self.compressor.represent(
            scope["method"], reply.status, reply.encoded, headers, Headers(scope=scope), kept
        )

    def _hit(
        self, scope: Scope, paths: Sequence[FrontPath]
    ) -> tuple[ServedRoute, BackendReply] | None:
        found = _match(paths, scope["path"])
        if found is None or has_body(scope):
            return None
        route, params = found
        # the request id is no part of a key: the lookup goes without one
        context = scope_context(scope, route.name, UNMATCHED, params)
        reply = early_hit(route, context)
        if reply is None:
            return None
        state = scope.setdefault("state", {})
        state["route"], state["side"] = route.name, reply.side
        return route, reply


def _match(paths: Sequence[FrontPath], path: str) -> tuple[ServedRoute, dict[str, Any]] | None:
    """The cached route of the first path that matches, with its parameters; None when
    the first match does not cache or nothing matches."""
    for front in paths:
        match = front.pattern.match(path)
        if match is None:
            continue
        if front.route is None:
            return None
        params = {k: front.convertors[k].convert(v) for k, v in match.groupdict().items()}
        return front.route, params
    return None


async def _send(send: Send, sent: Representation, request_id: str) -> int:
    """The hit's representation with the request id, as the observability middleware would
    send it; returns the status sent."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in sent.headers.items()
    ]
    headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
    if sent.status != 304:
        headers += [(b"content-length", str(len(sent.body)).encode()), JSON_TYPE]
    await send({"type": "http.response.start", "status": sent.status, "headers": headers})
    await send({"type": "http.response.body", "body": sent.body})
    return sent.status
