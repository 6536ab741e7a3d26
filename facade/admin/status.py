"""The status document of `GET /admin/status`, built from plain values.

    routes = [RouteState("get-customer", "GET", "/v1/customers/{id}", "shadow", 0.0)]
    samples = [Sample("facade_requests_total", {"route": "get-customer", "side": "legacy",
                                                "status": "200"}, 3.0)]
    status_document(routes, samples, records.snapshot(), "all workers")

Counters come as prometheus samples so that the same code reads one worker's registry or
the sum over all workers; shadow figures come from the worker's ShadowRecords.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from facade.migration.records import RouteRecord

REQUESTS = "facade_requests_total"
FALLBACKS = "facade_fallbacks_total"
VIOLATIONS = "facade_contract_violations_total"
SIDES = ("legacy", "new", "legacy-fallback")
"""The sides a request can be served by; each route lists all three, zeros included."""


@dataclass(frozen=True)
class RouteState:
    """One route: what the route table says, and the setting in force."""

    name: str
    method: str
    path: str
    mode: str
    percent: float
    wsdl: str = ""
    operation: str = ""
    flags: Mapping[str, Any] = field(default_factory=dict)
    """Declared and effective setting, override, guard figures, ramp, retirement
    (FlagControl.describe)."""


@dataclass(frozen=True)
class Sample:
    """One counter value with its labels, as prometheus-client reports it."""

    name: str
    labels: Mapping[str, str]
    value: float


def empty_shadow() -> dict[str, Any]:
    """The figures of a route that has not been shadowed (yet) in this worker: the shape
    the records give, from the records themselves."""
    return RouteRecord().as_dict()


def status_document(
    routes: Iterable[RouteState],
    samples: Iterable[Sample],
    shadow: Mapping[str, dict[str, Any]],
    counters: str,
) -> dict[str, Any]:
    """Per route: mode, percent, requests by side, fallbacks, contract violations by side
    and shadow figures. `counters` says whose counters these are (`this worker` or `all
    workers`); shadow figures are always this worker's."""
    totals = _totals(samples)
    routes = list(routes)
    return {
        "counters": counters,
        "shadow": "this worker",
        "guards": "this worker",
        "wsdls": _wsdls(routes),
        "routes": [_route(route, totals, shadow) for route in routes],
    }


def _wsdls(routes: list[RouteState]) -> list[dict[str, Any]]:
    """Per WSDL: how many of its operations still receive traffic, i.e. have a route that
    is not retired (a route in new with no fallback for the retirement period)."""
    by_wsdl: dict[str, list[RouteState]] = {}
    for route in routes:
        by_wsdl.setdefault(route.wsdl, []).append(route)
    summary = []
    for wsdl, members in sorted(by_wsdl.items()):
        operations = {route.operation for route in members}
        in_use = {r.operation for r in members if not r.flags.get("retired", False)}
        summary.append(
            {
                "wsdl": wsdl,
                "routes": len(members),
                "retired_routes": sum(bool(r.flags.get("retired", False)) for r in members),
                "operations": len(operations),
                "legacy_operations_in_use": len(in_use),
            }
        )
    return summary


def _route(
    route: RouteState,
    totals: Mapping[tuple[str, str, str], float],
    shadow: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    def count(metric: str, side: str = "") -> int:
        return int(totals.get((metric, route.name, side), 0))

    return {
        "name": route.name,
        "method": route.method,
        "path": route.path,
        "mode": route.mode,
        "percent": route.percent,
        **route.flags,
        "requests": {side: count(REQUESTS, side) for side in SIDES},
        "fallbacks": count(FALLBACKS),
        "contract_violations": {side: count(VIOLATIONS, side) for side in ("legacy", "new")},
        "shadow": (figures := shadow.get(route.name, empty_shadow())),
        "shadow_match_rate": _rate(figures["matches"], figures["comparisons"]),
    }


def _rate(part: int, whole: int) -> float | None:
    """Share of comparisons that matched; None before the first one."""
    return part / whole if whole else None


def _totals(samples: Iterable[Sample]) -> dict[tuple[str, str, str], float]:
    """Counter values summed by (metric, route, side): statuses added up, side '' for a
    counter that has none."""
    totals: dict[tuple[str, str, str], float] = {}
    for sample in samples:
        if sample.name not in (REQUESTS, FALLBACKS, VIOLATIONS):
            continue
        key = (sample.name, sample.labels.get("route", ""), sample.labels.get("side", ""))
        totals[key] = totals.get(key, 0.0) + sample.value
    return totals
