"""handle(route, context) -> answer: the only module that knows the order of the steps.

Today: context -> the route's legacy backend -> answer. The migration decision, the cache
and resilience will slot in here, each a step that takes and returns plain values.
"""

from __future__ import annotations

from dataclasses import dataclass

from facade.backends.base import Backend
from facade.context import RequestContext
from facade.errors import FacadeError
from facade.routetable import CompiledRoute
from facade.types import JSON, Side


@dataclass(frozen=True)
class ServedRoute:
    """A compiled route with the backends that can serve it."""

    compiled: CompiledRoute
    legacy: Backend

    @property
    def name(self) -> str:
        return self.compiled.name


@dataclass(frozen=True)
class Answer:
    status: int
    body: JSON
    side: Side


async def handle(route: ServedRoute, context: RequestContext) -> Answer:
    """Serve one request; a FacadeError raised on the way carries the side that failed."""
    backend = route.legacy
    try:
        body = await backend.call(context)
    except FacadeError as exc:
        exc.side = backend.side
        raise
    return Answer(status=route.compiled.mapping.status, body=body, side=backend.side)
