"""The configuration's one-pattern path matcher answers exactly as trying each route's own
pattern in order, for any set of route paths and any request path."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from facade.configuration import PathMatcher

SEGMENTS = ["a", "b", "v1", "{id}", "{n:int}", "{x:float}", "{rest:path}", "{u:uuid}"]
UUID = "12345678-1234-5678-1234-567812345678"
REQUEST_SEGMENTS = ["a", "b", "v1", "7", "-3", "1.5", "x y", "", UUID]


def _endpoint(index: int) -> Any:
    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError(index)  # never called: only its identity is compared

    return endpoint


def _routes(templates: list[list[str]]) -> list[Route]:
    routes, seen = [], set()
    for index, segments in enumerate(templates):
        path = "/" + "/".join(segments)
        names = [s.strip("{}").partition(":")[0] for s in segments if s.startswith("{")]
        if path in seen or len(names) != len(set(names)):
            continue  # one route per path; a parameter name once per path
        seen.add(path)
        routes.append(Route(path, _endpoint(index)))
    return routes


def _scan(routes: list[Route], scope: Scope) -> tuple[Match, Scope]:
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return match, child
    return Match.NONE, {}


def _scope(path: str, root_path: str = "") -> Scope:
    return {"type": "http", "method": "GET", "path": path, "root_path": root_path}


@settings(max_examples=300, deadline=None)
@given(
    templates=st.lists(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=4), max_size=12),
    request=st.lists(st.sampled_from(REQUEST_SEGMENTS), max_size=5),
    trailing=st.booleans(),
)
def test_the_matcher_finds_what_trying_each_route_in_order_finds(
    templates: list[list[str]], request: list[str], trailing: bool
) -> None:
    routes = _routes(templates)
    path = "/" + "/".join(request) + ("/" if trailing and request else "")
    assert PathMatcher(routes).matches(_scope(path)) == _scan(routes, _scope(path))


def test_literal_paths_listed_first_win_over_parameters() -> None:
    routes = _routes([["v1", "a"], ["v1", "{id}"]])
    match, child = PathMatcher(routes).matches(_scope("/v1/a"))
    assert match is Match.FULL and child["endpoint"] is routes[0].endpoint
    match, child = PathMatcher(routes).matches(_scope("/v1/b"))
    assert child["endpoint"] is routes[1].endpoint and child["path_params"] == {"id": "b"}


def test_parameters_are_converted_and_the_root_path_is_left_out() -> None:
    routes = _routes([["v1", "{n:int}", "{rest:path}"]])
    scope = _scope("/api/v1/42/x/y", root_path="/api")
    assert PathMatcher(routes).matches(scope)[1]["path_params"] == {"n": 42, "rest": "x/y"}


def test_no_routes_and_other_scopes_match_nothing() -> None:
    assert PathMatcher([]).matches(_scope("/v1")) == (Match.NONE, {})
    routes = _routes([["v1"]])
    assert PathMatcher(routes).matches({"type": "websocket", "path": "/v1"}) == (Match.NONE, {})


def test_hundreds_of_routes_compile_into_one_pattern() -> None:
    routes = _routes([["v1", f"r{i}", "{id}"] for i in range(500)])
    match, child = PathMatcher(routes).matches(_scope("/v1/r499/7"))
    assert child["endpoint"] is routes[499].endpoint and child["path_params"] == {"id": "7"}
