"""The admin API's endpoints, mounted only when an admin token is configured.

    add_admin_routes(app, {"admin": token}, lambda: table, metrics, records, flags, cache)

    GET  /admin/status                 every route: modes, traffic, shadow, guard, ramp, retirement
    GET  /admin/flags                  declared and effective setting of every route
    PUT  /admin/flags/{route}          {"mode": "canary", "percent": 10, "reason": "..."}
    POST /admin/flags/{route}/reset    {"reason": "..."}: back to the mapping's declaration
    POST /admin/kill-switch            {"reason": "..."}: every route back to legacy
    GET  /admin/history[?route=NAME]   the audit of flips
    POST /admin/cache/purge            {"route": "get-customer", "params": {"id": "42"}}

Every call needs `Authorization: Bearer <token>`; each configured token is compared in
constant time (all of them, always), so the time a refusal takes says nothing about how
much of a guess was right. The token's name is who the audit says flipped.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from facade.admin.status import RouteState, Sample, status_document
from facade.cache.step import ResponseCache
from facade.cache.store import spelled
from facade.errors import (
    FieldProblem,
    FlagStateUnavailable,
    InvalidRequest,
    PayloadTooLarge,
    RouteNotFound,
    Unauthorized,
    UnknownRoute,
)
from facade.migration.control import FlagControl, FlipRefused
from facade.migration.records import ShadowRecords
from facade.observability import Metrics
from facade.responses import json_response
from facade.routetable import RouteTable, route_parameters
from facade.types import RouteName

ADMIN_PREFIX = "/admin"
STATUS_PATH = f"{ADMIN_PREFIX}/status"
FLAGS_PATH = f"{ADMIN_PREFIX}/flags"
HISTORY_PATH = f"{ADMIN_PREFIX}/history"
KILL_PATH = f"{ADMIN_PREFIX}/kill-switch"
PURGE_PATH = f"{ADMIN_PREFIX}/cache/purge"
MAX_BODY_BYTES = 16 * 1024
"""An admin request body is a mode, a percent and a reason: anything larger is refused."""

Handler = Callable[[Request], Awaitable[Response]]


def authorize(header: str | None, tokens: Mapping[str, str]) -> str:
    """The name of the token `header` carries (`Bearer <token>`), or Unauthorized."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise Unauthorized("An admin token is required: Authorization: Bearer <token>")
    offered = given.strip().encode()
    found = None
    for name, token in tokens.items():  # every token, so timing does not tell which matched
        if hmac.compare_digest(offered, token.encode()) and found is None:
            found = name
    if found is None:
        raise Unauthorized("The admin token is not valid")
    return found


def route_states(table: RouteTable, flags: FlagControl | None = None) -> list[RouteState]:
    """Each route's mode and canary share in force, with the flag details when known."""
    states = []
    for route in sorted(table, key=lambda r: r.name):
        migration = route.mapping.migration
        mode, percent = migration.mode, migration.percent or 0.0
        details: dict[str, Any] = {}
        if flags is not None:
            mode, percent = flags.setting(route.name)
            details = flags.describe(route.name)
        states.append(
            RouteState(
                route.name,
                route.mapping.method,
                route.mapping.path,
                mode,
                percent,
                wsdl=route.mapping.legacy.wsdl,
                operation=route.operation.name,
                flags=details,
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
    tokens: Mapping[str, str],
    table: Callable[[], RouteTable],
    metrics: Metrics,
    records: ShadowRecords,
    flags: FlagControl,
    cache: ResponseCache | None = None,
) -> None:
    """Mount the admin API (the purge only with a cache); errors (401, refusals) go through
    the app's problem+json handlers. `table` gives the route table served at the time of
    the call (it changes on a reload)."""

    def guarded(handler: Callable[[Request, str], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            who = authorize(request.headers.get("authorization"), tokens)
            try:
                return await handler(request, who)
            except FlipRefused as exc:
                raise _refusal(exc) from None

        return endpoint

    async def status(request: Request, who: str) -> Response:
        samples = [Sample(*sample) for sample in metrics.samples()]
        routes = route_states(table(), flags)
        document = status_document(routes, samples, records.snapshot(), metrics.scope)
        return json_response(document | {"flags": _store(flags)})

    async def list_flags(request: Request, who: str) -> Response:
        routes = [{"name": name, **_flag(flags, name)} for name in sorted(flags.declared)]
        return json_response({"routes": routes, "state": _store(flags)})

    async def set_flag(request: Request, who: str) -> Response:
        name = request.path_params["route"]
        body = await _body(request)
        mode = _text(body, "mode", required=True)
        percent, reason = _percent(body), _text(body, "reason")
        await run_in_threadpool(flags.flip, name, mode, percent, reason, who)
        flags.refresh()  # this worker serves the flip from its next request on
        return json_response({"name": name, **_flag(flags, name)})

    async def reset_flag(request: Request, who: str) -> Response:
        name = request.path_params["route"]
        reason = _text(await _body(request), "reason")
        await run_in_threadpool(flags.reset, name, reason, who)
        flags.refresh()
        return json_response({"name": name, **_flag(flags, name)})

    async def kill(request: Request, who: str) -> Response:
        reason = _text(await _body(request), "reason")
        moved = await run_in_threadpool(flags.kill, reason, who)
        flags.refresh()
        return json_response({"moved": moved})

    async def history(request: Request, who: str) -> Response:
        name = request.query_params.get("route") or None
        try:
            entries = await run_in_threadpool(flags.history, name)
        except FlipRefused as exc:  # an unknown route, named in the query here
            raise UnknownRoute(f"query.{exc.field}", exc.message) from None
        return json_response({"entries": [entry.as_json() for entry in entries]})

    async def purge(request: Request, who: str) -> Response:
        assert cache is not None  # noqa: S101 - mounted only with a cache
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"an admin request body is at most {MAX_BODY_BYTES} bytes")
        route, params = purge_request(raw, cached_routes(table()))
        purged = cache.purge(route, params or None)
        scope = "all workers" if cache.peers is not None else "this worker"
        return json_response({"route": route, "params": params, "purged": purged, "scope": scope})

    if cache is not None:
        app.add_route(PURGE_PATH, guarded(purge), methods=["POST"], include_in_schema=False)
    for path, handler, method in (
        (STATUS_PATH, status, "GET"),
        (FLAGS_PATH, list_flags, "GET"),
        (FLAGS_PATH + "/{route}", set_flag, "PUT"),
        (FLAGS_PATH + "/{route}/reset", reset_flag, "POST"),
        (KILL_PATH, kill, "POST"),
        (HISTORY_PATH, history, "GET"),
    ):
        app.add_route(path, guarded(handler), methods=[method], include_in_schema=False)


def _flag(flags: FlagControl, name: str) -> dict[str, Any]:
    described = flags.describe(name)
    return {key: described[key] for key in ("declared", "effective", "override")}


def _store(flags: FlagControl) -> dict[str, Any]:
    return {"store": flags.store.describe(), "problem": flags.problem()}


def _refusal(exc: FlipRefused) -> Exception:
    if exc.status == 404:
        return UnknownRoute(f"path.{exc.field}", exc.message)
    if exc.status == 409:
        return FlagStateUnavailable(exc.message)
    return InvalidRequest([FieldProblem(f"body.{exc.field}", exc.message)])


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object the request carries; an empty body is an empty object."""
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"an admin request body is at most {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest([FieldProblem("body", "is not valid JSON")]) from None
    if not isinstance(body, dict):
        raise InvalidRequest([FieldProblem("body", "must be a JSON object")])
    return body


def _text(body: Mapping[str, Any], field: str, required: bool = False) -> str:
    value = body.get(field)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise InvalidRequest([FieldProblem(f"body.{field}", "must be a non-empty string")])
    return value


def _percent(body: Mapping[str, Any]) -> float | None:
    value = body.get("percent")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest([FieldProblem("body.percent", "must be a number from 0 to 100")])
    return float(value)
