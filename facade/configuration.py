"""The configuration being served, as one value that a reload replaces whole.

Everything the mapping files and WSDLs decide (the route table, one endpoint per path, the
OpenAPI document) sits in a frozen `Configuration`. The app holds a `Current` and reads it
once per request: the router matches the request against the configuration of that moment
and the request keeps the endpoint it matched, so a request that started on the old
configuration finishes on it while the next one sees the new.

    current = Current(configuration)
    app.router.routes.append(MappedRoutes(current))   # after the facade's own routes
    current.swap(newer)                                # on the event loop, at once
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from facade.routetable import RouteTable
from facade.soap.registry import WsdlRegistry
from facade.types import RouteName


@dataclass(frozen=True)
class Configuration:
    """One generation of what the facade serves."""

    table: RouteTable
    registry: WsdlRegistry
    """The WSDLs this table was compiled from (the readiness check lists them)."""
    routes: tuple[Route, ...]
    """One Starlette route per path, in matching order (literal segments first)."""
    document: Mapping[str, Any]
    """The OpenAPI document of these routes."""
    version: str | None = None
    """Fingerprint of the files the table was built from (facade.sources); None when the
    table did not come from folders (tests, embedded use)."""
    revisions: Mapping[RouteName, str] = field(default_factory=dict)
    """Per route, a digest of what decides its answers (its mapping, its WSDL): a route
    whose revision did not change kept its behaviour across a reload."""
    generation: int = 1
    """1 at start, one more per successful reload."""
    matcher: PathMatcher = field(init=False, repr=False, compare=False)
    """The routes' paths as one pattern, compiled with the configuration (in a reload's
    thread, never by the first request after it)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "matcher", PathMatcher(self.routes))


_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


class PathMatcher:
    """The first of `routes` whose path matches a request, found by one regular expression
    made of all their patterns in order: trying each route's own pattern in turn costs
    about half a microsecond per route tried (90 us a request at 200 paths)."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self.routes = tuple(routes)
        branches = (
            f"(?P<_{index}>{_NAMED_GROUP.sub('(?:', route.path_regex.pattern)})"
            for index, route in enumerate(self.routes)
        )
        self.pattern = re.compile("|".join(branches)) if self.routes else None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """As trying each route's `matches` in order until one matches in full."""
        if self.pattern is None or scope["type"] != "http":
            return Match.NONE, {}
        found = self.pattern.match(get_route_path(scope))
        if found is None or found.lastgroup is None:
            return Match.NONE, {}
        # the branch that matched is the first route whose own pattern matches; its
        # `matches` converts the parameters (a route after it is tried only if it refuses)
        for route in self.routes[int(found.lastgroup[1:]) :]:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return match, child
        return Match.NONE, {}


class Current:
    """The configuration served now; replaced in one assignment on the event loop."""

    def __init__(self, configuration: Configuration) -> None:
        self._configuration = configuration

    @property
    def configuration(self) -> Configuration:
        return self._configuration

    def swap(self, configuration: Configuration) -> Configuration:
        """Serve `configuration` from the next request on; returns the one it replaces."""
        previous, self._configuration = self._configuration, configuration
        return previous


class MappedRoutes(BaseRoute):
    """The mapped paths of the current configuration, as one entry of the app's router.

    It sits after the facade's own routes, so they keep their precedence, and it answers
    only a full match: a path of no mapping falls through to the router's 404 (or to a
    facade route's 405), as when each path was a route of its own.
    """

    def __init__(self, current: Current) -> None:
        self.current = current

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # a full match only; the endpoint is pinned in the child scope
        return self.current.configuration.matcher.matches(scope)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await scope["endpoint"](scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # mapped routes are not named for url_for
