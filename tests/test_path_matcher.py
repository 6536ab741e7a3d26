"""The configuration's path matcher answers exactly as trying each route's own pattern in
order, for any set of route paths and any request path (but for Starlette's `$` letting a
trailing newline through, which it refuses)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from facade.configuration import PathMatcher

SEGMENTS = ["a", "b", "v1", "{id}", "{n:int}", "{x:float}", "{rest:path}", "{u:uuid}"]
UUID = "12345678-1234-5678-1234-567812345678"
REQUEST_SEGMENTS = ["a", "b", "v1", "7", "-3", "1.5", "x y", "", UUID, "a\n", "7\n"]


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
    """Each route's own `matches` in turn."""
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
    found = PathMatcher(routes).matches(_scope(path))
    if "\n" not in path:
        assert found == _scan(routes, _scope(path))
    else:  # `$` lets a newline through, but never in place of a literal segment
        assert found == _scan([r for r in routes if _starts(path, r.path)], _scope(path))


def _starts(path: str, template: str) -> bool:
    """The request path begins with the literal segments the template begins with."""
    literal = []
    for segment in template.split("/")[1:]:
        if "{" in segment:
            break
        literal.append(segment)
    return path.split("/")[1:][: len(literal)] == literal


def test_a_literal_path_does_not_match_it_with_a_trailing_newline() -> None:
    routes = _routes([["v1", "search"], ["v1", "{id}"]])
    scope = _scope("/v1/search\n")
    assert _scan(routes, scope)[1]["endpoint"] is routes[0].endpoint
    match, child = PathMatcher(routes).matches(scope)
    assert child["endpoint"] is routes[1].endpoint and child["path_params"] == {"id": "search\n"}


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


def test_of_hundreds_of_routes_only_those_with_the_request_s_literal_start_are_tried() -> None:
    routes = _routes([["v1", f"r{i}", "{id}"] for i in range(500)] + [["{any}", "{id}"]])
    matcher = PathMatcher(routes)
    assert matcher._candidates("/v1/r499/7") == [499, 500]
    match, child = matcher.matches(_scope("/v1/r499/7"))
    assert child["endpoint"] is routes[499].endpoint and child["path_params"] == {"id": "7"}
    assert matcher.matches(_scope("/v2/7"))[1]["endpoint"] is routes[500].endpoint
