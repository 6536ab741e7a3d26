"""The one interface every backend offers to the pipeline."""

from __future__ import annotations

from typing import Protocol

from facade.context import RequestContext
from facade.types import JSON, Side


class Backend(Protocol):
    """Serves one route: takes the request context, returns the JSON answer or raises a
    FacadeError."""

    side: Side

    async def call(self, context: RequestContext) -> JSON: ...
