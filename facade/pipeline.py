"""handle(route, context) -> outcome: the only module that knows the order of the steps.

    context -> validation against the route's contract -> the side that serves
            -> that backend, within the side's deadline -> outcome

The migration decision, the cache and resilience slot in here, each a step that takes and
returns plain values. Nothing here raises for a request that went wrong: a failure is an
outcome too, carrying the side that failed (None when the facade itself refused).
"""

from __future__ import annotations

from dataclasses import dataclass

from facade.backends.base import Backend, BackendReply, BackendRequest
from facade.context import RequestContext
from facade.errors import FacadeError
from facade.net.seam import Deadline
from facade.routetable import CompiledRoute
from facade.translate.request import build_arguments
from facade.translate.validate import ArgumentValidator
from facade.types import RouteName, Side


@dataclass(frozen=True)
class ServedRoute:
    """A compiled route with its contract's validator and the backends that can serve it."""

    compiled: CompiledRoute
    validator: ArgumentValidator
    legacy: Backend
    new: Backend | None = None
    """The route's new implementation; none until the mapping names one."""

    @property
    def name(self) -> RouteName:
        return self.compiled.name


@dataclass(frozen=True)
class Failure:
    """A request that ended in an error; `side` is the backend that failed, if any did."""

    error: FacadeError
    side: Side | None = None


Outcome = BackendReply | Failure


async def handle(route: ServedRoute, context: RequestContext) -> Outcome:
    """Serve one request; every error becomes a Failure with the side it came from."""
    try:
        request = validate(route, context)
    except FacadeError as exc:
        return Failure(exc)
    backend = choose_side(route)
    return await call(backend, request)


def validate(route: ServedRoute, context: RequestContext) -> BackendRequest:
    """The request checked against the route's contract, before any side is chosen."""
    arguments = build_arguments(
        route.compiled.arguments, context.expression_data(), route.validator
    )
    return BackendRequest(context=context, arguments=arguments)


def choose_side(route: ServedRoute) -> Backend:
    """The backend that serves: the legacy side until migration modes exist."""
    return route.legacy


async def call(backend: Backend, request: BackendRequest) -> Outcome:
    """One backend call within its deadline; its failure is returned, not raised."""
    try:
        return await backend.call(request, Deadline.after(backend.timeout))
    except FacadeError as exc:
        return Failure(exc, side=backend.side)
