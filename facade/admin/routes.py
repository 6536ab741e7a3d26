"""The admin API's endpoints, mounted only when an admin token is configured.

    add_admin_routes(app, token, table, metrics, records, cache)
    # GET /admin/status, POST /admin/cache/purge {"route": "get-customer", "params": {"id": "42"}}

Every call needs `Authorization: Bearer <token>`; the token is compared in constant time,
so the time a refusal takes says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from facade.admin.status import RouteState, Sample, status_document
from facade.cache.step import ResponseCache
from facade.cache.store import spelled
from facade.errors import FieldProblem, InvalidRequest, RouteNotFound, Unauthorized
from facade.migration.records import ShadowRecords
from facade.observability import Metrics
from facade.responses import json_response
from facade.routetable import RouteTable, route_parameters
from facade.types import RouteName

ADMIN_PREFIX = "/admin"
STATUS_PATH = f"{ADMIN_PREFIX}/status"
PURGE_PATH = f"{ADMIN_PREFIX}/cache/purge"


def authorize(header: str | None, token: str) -> None:
    """Raise Unauthorized unless `header` is `Bearer <token>`."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Unauthorized("An admin token is required: Authorization: Bearer <token>")
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthorized("The admin token is not valid")


def route_states(table: RouteTable) -> list[RouteState]:
    """Each route's declared mode and canary share, by name."""
    states = []
    for route in sorted(table, key=lambda r: r.name):
        migration = route.mapping.migration
        states.append(
            RouteState(
                route.name,
                route.mapping.method,
                route.mapping.path,
                migration.mode,
                migration.percent or 0.0,
            )
        )
    return states


def cached_routes(table: RouteTable) -> dict[RouteName, frozenset[str]]:
    """Each cached route (one with a ttl) and the parameter names a purge may narrow by."""
    return {
        route.name: route_parameters(route, table.new_sides.get(route.name))
        for route in table
        if route.mapping.cache.ttl is not None
    }


def purge_request(
    raw: bytes, cached: Mapping[RouteName, frozenset[str]]
) -> tuple[str, dict[str, str]]:
    """The route and parameters of a purge body, or a 422 naming the wrong field (404 for a
    route that is not cached)."""
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest([FieldProblem("body", "must be a JSON object")]) from None
    if not isinstance(body, dict):
        raise InvalidRequest([FieldProblem("body", "must be a JSON object")])
    unknown = sorted(set(body) - {"route", "params"})
    if unknown:
        raise InvalidRequest([FieldProblem(f"body.{unknown[0]}", "unknown; give route, params")])
    route, params = body.get("route"), body.get("params", {})
    if not isinstance(route, str) or not route:
        raise InvalidRequest([FieldProblem("body.route", "must be a route name")])
    if route not in cached:
        raise RouteNotFound(f"No cached route is named {route!r}")
    if not isinstance(params, dict):
        raise InvalidRequest([FieldProblem("body.params", "must be an object of values")])
    problems = [_param_problem(route, name, value, cached[route]) for name, value in params.items()]
    found = [problem for problem in problems if problem is not None]
    if found:
        raise InvalidRequest(found)
    return route, {name: str(spelled(value)) for name, value in params.items()}


def _param_problem(
    route: RouteName, name: str, value: object, known: frozenset[str]
) -> FieldProblem | None:
    if name not in known:
        have = ", ".join(sorted(known)) or "none"
        return FieldProblem(
            f"body.params.{name}", f"is not a path or query parameter of {route} (it has: {have})"
        )
    if spelled(value) is None:
        return FieldProblem(f"body.params.{name}", "must be a string or a number")
    return None


def add_admin_routes(
    app: Starlette,
    token: str,
    table: RouteTable,
    metrics: Metrics,
    records: ShadowRecords,
    cache: ResponseCache | None = None,
) -> None:
    """Mount GET /admin/status and (with a cache) POST /admin/cache/purge; errors (a 401)
    go through the app's problem+json handlers."""
    routes = route_states(table)
    cached = cached_routes(table)

    async def status(request: Request) -> Response:
        authorize(request.headers.get("authorization"), token)
        samples = [Sample(*sample) for sample in metrics.samples()]
        return json_response(status_document(routes, samples, records.snapshot(), metrics.scope))

    async def purge(request: Request) -> Response:
        authorize(request.headers.get("authorization"), token)
        assert cache is not None  # noqa: S101 - mounted only with a cache
        route, params = purge_request(await request.body(), cached)
        purged = cache.purge(route, params or None)
        scope = "all workers" if cache.peers is not None else "this worker"
        return json_response({"route": route, "params": params, "purged": purged, "scope": scope})

    app.add_route(STATUS_PATH, status, methods=["GET"], include_in_schema=False)
    if cache is not None:
        app.add_route(PURGE_PATH, purge, methods=["POST"], include_in_schema=False)
