"""The admin API's endpoints, mounted only when an admin token is configured.

    add_admin_routes(app, token, lambda: table, metrics, records)   # GET /admin/status

Every call needs `Authorization: Bearer <token>`; the token is compared in constant time,
so the time a refusal takes says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from facade.admin.status import RouteState, Sample, status_document
from facade.errors import Unauthorized
from facade.migration.records import ShadowRecords
from facade.observability import Metrics
from facade.responses import json_response
from facade.routetable import RouteTable

ADMIN_PREFIX = "/admin"
STATUS_PATH = f"{ADMIN_PREFIX}/status"


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


def add_admin_routes(
    app: Starlette,
    token: str,
    table: Callable[[], RouteTable],
    metrics: Metrics,
    records: ShadowRecords,
) -> None:
    """Mount GET /admin/status; errors (a 401) go through the app's problem+json handlers.
    `table` gives the route table served at the time of the call (it changes on a reload)."""

    async def status(request: Request) -> Response:
        authorize(request.headers.get("authorization"), token)
        routes = route_states(table())
        samples = [Sample(*sample) for sample in metrics.samples()]
        return json_response(status_document(routes, samples, records.snapshot(), metrics.scope))

    app.add_route(STATUS_PATH, status, methods=["GET"], include_in_schema=False)
