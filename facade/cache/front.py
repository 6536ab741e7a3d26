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
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from facade.backends.base import BackendReply
from facade.cache.http import not_modified
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
        self, app: ASGIApp, paths: Callable[[], Sequence[FrontPath]], metrics: Metrics
    ) -> None:
        self.app = app
        self.paths = paths
        """The front paths of the configuration served now (a reload replaces them)."""
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        paths = self.paths()
        if paths and scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            started = time.perf_counter()
            try:
                reply = self._hit(scope, paths)
            except Exception:  # the whole way still answers, and reports the failure
                log.exception("cache front failed; the request goes the whole way")
                reply = None
            if reply is not None:
                request_id = request_id_for(scope)  # made only for a hit: the app makes its own
                state = scope.setdefault("state", {})
                state["request_id"] = request_id
                token = request_id_var.set(request_id)
                try:
                    status = await _send(send, reply, scope, request_id)
                    record(self.metrics, scope, status, time.perf_counter() - started, request_id)
                finally:
                    request_id_var.reset(token)
                return
        await self.app(scope, receive, send)

    def _hit(self, scope: Scope, paths: Sequence[FrontPath]) -> BackendReply | None:
        found = _match(paths, scope["path"])
        if found is None or has_body(scope):
            return None
        route, params = found
        # the request id is no part of a key: the lookup goes without one
        context = scope_context(scope, route.name, UNMATCHED, params)
        reply = early_hit(route, context)
        if reply is not None:
            state = scope.setdefault("state", {})
            state["route"], state["side"] = route.name, reply.side
        return reply


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


async def _send(send: Send, reply: BackendReply, scope: Scope, request_id: str) -> int:
    """The hit as `_render` in facade.app and the observability middleware would send it,
    304 included; returns the status sent."""
    extra = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in {**reply.headers, BACKEND_HEADER: reply.side}.items()
    ]
    extra.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
    if not_modified(_header(scope, b"if-none-match"), reply.headers.get("etag")):
        await send({"type": "http.response.start", "status": 304, "headers": extra})
        await send({"type": "http.response.body", "body": b""})
        return 304
    length = (b"content-length", str(len(reply.encoded)).encode())
    headers = [length, JSON_TYPE, *extra]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.encoded})
    return reply.status


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None
