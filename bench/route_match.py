"""Matching a request's path against many mapped paths: each route's own pattern in turn
(as the router does) against the configuration's path matcher, which tries only the routes
whose literal start the request's path begins with (facade/configuration.py).

    PYTHONPATH=. .venv/bin/python bench/route_match.py [--paths 10,50,200,1000] [--calls 20000]

For each count, N paths like `/v1/resource17/{id}` (one parameter each, as a mapping file
per operation gives), and a request for the first, the middle and the last of them, plus one
that matches none; microseconds per match, medians of alternating rounds, both ways checked
to find the same route.
"""

from __future__ import annotations

import argparse
import statistics
import timeit
from typing import Any

from starlette.routing import Match, Route

from facade.configuration import PathMatcher


async def _endpoint(scope: Any, receive: Any, send: Any) -> None:
    """Never called: matching only."""


def scan(routes: list[Route], scope: dict[str, Any]) -> tuple[Match, Any]:
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return match, child
    return Match.NONE, {}


def scope_for(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "root_path": ""}


def timed(
    routes: list[Route], matcher: PathMatcher, scope: dict[str, Any], calls: int, rounds: int
) -> tuple[float, float]:
    """Microseconds per match each way, medians of alternating rounds."""
    slow, fast = [], []
    for _ in range(rounds):
        slow.append(timeit.timeit(lambda: scan(routes, scope), number=calls) / calls)
        fast.append(timeit.timeit(lambda: matcher.matches(scope), number=calls) / calls)
    return statistics.median(slow) * 1e6, statistics.median(fast) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", default="10,50,200,1000")
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| paths | request for | each route in turn, us | path matcher, us | speed-up |")
    print("|---|---|---|---|---|")
    for count in (int(n) for n in args.paths.split(",")):
        routes = [Route(f"/v1/resource{i}/{{id}}", _endpoint) for i in range(count)]
        matcher = PathMatcher(routes)
        for label, path in (
            ("the first", "/v1/resource0/7"),
            ("the middle", f"/v1/resource{count // 2}/7"),
            ("the last", f"/v1/resource{count - 1}/7"),
            ("none", "/v2/unknown/7"),
        ):
            scope = scope_for(path)
            assert scan(routes, scope) == matcher.matches(scope)  # noqa: S101
            calls = max(100, args.calls // max(1, count // 10))
            before, after = timed(routes, matcher, scope, calls, args.rounds)
            print(f"| {count} | {label} | {before:.2f} | {after:.2f} | {before / after:.1f}x |")


if __name__ == "__main__":
    main()
