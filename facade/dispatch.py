"""Mapped routes served around the framework rather than through it.

Every mapped request used to cross the framework's whole stack: its error, telemetry and
body-limit layers, its exception middleware, the router trying each of the facade's own
paths first. None of them does anything for a mapped route: its endpoint renders every
error as problem+json itself, and the facade's own middleware (request id, metrics and
access log, request limits, pacing) reports an unforeseen exception. `MappedFront` sends a
mapped request straight to that middleware around the endpoint it matched, and everything
else (the facade's own paths, unknown paths, trailing-slash redirects) to the framework,
so the two ways answer alike and the mapped one costs a fraction of the other.

    front = MappedFront(stack, MappedRoutes(current), own_paths(app.router.routes),
                        lambda endpoint: ObservabilityMiddleware(endpoint, metrics=metrics))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from facade.configuration import MappedRoutes
from facade.types import ReadyAnswer


@dataclass(frozen=True)
class OwnPaths:
    """The paths the facade serves itself, which win over any mapping."""

    paths: frozenset[str]
    prefixes: tuple[str, ...]
    """Of own paths with parameters (`/admin/flags/{route}`): the part before the first one."""

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and (path in self.paths or path.startswith(self.prefixes))


def own_paths(routes: Iterable[BaseRoute]) -> OwnPaths:
    """The paths of the framework's routes other than the mapped ones. (No mapping may
    start with /admin, so the admin API's unknown paths never match one.)"""
    literal: set[str] = set()
    starts: list[str] = []
    for route in routes:
        if isinstance(route, MappedRoutes) or not isinstance(route, Route):
            continue
        if route.param_convertors:
            starts.append(route.path.partition("{")[0])
        else:
            literal.add(route.path)
    return OwnPaths(frozenset(literal), tuple(starts))


class MappedFront:
    """Pure ASGI: mapped requests to `wrap(endpoint)`, the others to `framework`."""

    def __init__(
        self,
        framework: ASGIApp,
        mapped: MappedRoutes,
        own: OwnPaths,
        wrap: Callable[[ASGIApp], ASGIApp],
    ) -> None:
        self.framework = framework
        self.mapped = mapped
        self.own = own
        self.endpoint = wrap(_matched_endpoint)
        self._now: Callable[[Scope], ReadyAnswer | None] | None = getattr(
            self.endpoint, "answer_now", None
        )
        self._may: Callable[[Scope], bool] | None = getattr(self.endpoint, "may_answer_now", None)

    def may_answer_now(self, scope: Scope) -> bool:
        """Whether the wrapped endpoint may answer this request without being awaited (the
        request's route is matched here, once, for `answer_now`)."""
        if self._now is None or scope["type"] != "http" or scope["path"] in self.own:
            return False
        return self._matched(scope) and (self._may is None or self._may(scope))

    def answer_now(self, scope: Scope) -> ReadyAnswer | None:
        """The answer to a mapped request that the wrapped endpoint makes without being
        awaited (a fresh cache hit), or None: the request then comes through `__call__`."""
        if self._now is None or not self.may_answer_now(scope):
            return None
        return self._now(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in self.own and self._matched(scope):
            await self.endpoint(scope, receive, send)
            return
        await self.framework(scope, receive, send)

    def _matched(self, scope: Scope) -> bool:
        """Whether a mapped route matches in full; its endpoint and path parameters are
        then in the scope, as the router sets them (already when `may_answer_now` matched
        the request as the server read it)."""
        if "endpoint" in scope:
            return True
        match, child = self.mapped.matches(scope)
        if match is not Match.FULL:
            return False
        scope.update(child)
        return True


async def _matched_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await scope["endpoint"](scope, receive, send)
