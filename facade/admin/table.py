"""The status document as the text `facade status` prints: one row per route, then the
recent shadow differences of each route that has some."""

from __future__ import annotations

from typing import Any

import orjson

HEADER = (
    "ROUTE",
    "MODE",
    "PERCENT",
    "DECLARED",
    "LEGACY",
    "NEW",
    "FALLBACK",
    "FALLBACKS",
    "COMPARED",
    "MATCH",
    "MISMATCH",
    "ERRORS",
    "DROPS",
    "SKIPPED",
    "GUARD",
)
DIFFS_SHOWN = 5
"""Recent differences printed per route (the admin API keeps more)."""


def status_lines(document: dict[str, Any]) -> list[str]:
    """The table, aligned, followed by the recent differences and whose figures these are."""
    rows = [HEADER, *(_row(route) for route in document["routes"])]
    lines = _aligned(rows)
    for route in document["routes"]:
        lines.extend(_flags(route))
    for route in document["routes"]:
        lines.extend(_diffs(route))
    lines.extend(_wsdl(wsdl) for wsdl in document.get("wsdls", []))
    scope = document.get("counters", "this worker")
    lines.append(f"(requests and fallbacks: {scope}; shadow and guard figures: this worker)")
    return lines


def _row(route: dict[str, Any]) -> tuple[str, ...]:
    requests, shadow = route["requests"], route["shadow"]
    percent = f"{route['percent']:g}" if route["mode"] == "canary" else "-"
    errors = shadow["errors"]["legacy"] + shadow["errors"]["new"]
    figures = (
        requests["legacy"],
        requests["new"],
        requests["legacy-fallback"],
        route["fallbacks"],
        shadow["comparisons"],
        shadow["matches"],
        shadow["mismatches"],
        errors,
        shadow["drops"],
        shadow.get("skipped", 0),
    )
    declared = route.get("declared") or {"mode": route["mode"], "percent": route["percent"]}
    return (
        route["name"],
        route["mode"],
        percent,
        _setting(declared),
        *map(str, figures),
        _guard(route),
    )


def _setting(value: dict[str, Any]) -> str:
    return f"canary:{value['percent']:g}" if value["mode"] == "canary" else str(value["mode"])


def _guard(route: dict[str, Any]) -> str:
    """`-` without a guard; FAILING over a threshold, tripped after a trip, ok otherwise."""
    guard = route.get("guard") or {}
    if guard.get("error_rate_limit") is None and guard.get("mismatch_rate_limit") is None:
        return "-"
    override = route.get("override") or {}
    if override.get("tripped"):
        return "tripped"
    return "FAILING" if route.get("failing") else "ok"


def _flags(route: dict[str, Any]) -> list[str]:
    """A line for an override (who, why), one for the guard figures, one for the ramp."""
    lines = []
    override = route.get("override")
    if override:
        kind = "automatically" if override["automatic"] else "by " + override["who"]
        reason = f": {override['reason']}" if override["reason"] else ""
        lines.append(f"{route['name']}: flipped {kind}{reason}")
    guard = route.get("guard") or {}
    if _guard(route) != "-":
        figures = [
            f"{name} {_rate(guard[name])} (limit {guard[name + '_limit']:g})"
            for name in ("error_rate", "mismatch_rate")
            if guard.get(name + "_limit") is not None
        ]
        lines.append(f"{route['name']}: guard over {guard['window']}: {', '.join(figures)}")
    ramp = route.get("ramp")
    if ramp and ramp.get("next_percent") is not None:
        when = ramp.get("next_at") or "after the first tick"
        lines.append(f"{route['name']}: ramp to {ramp['next_percent']:g}% at {when}")
    if route.get("retired"):
        lines.append(f"{route['name']}: retired (in new, no fallback for the retirement period)")
    return lines


def _rate(value: float | None) -> str:
    return "n/a (window not full)" if value is None else f"{value:.3g}"


def _wsdl(wsdl: dict[str, Any]) -> str:
    return (
        f"{wsdl['wsdl']}: {wsdl['legacy_operations_in_use']} of {wsdl['operations']} legacy "
        f"operations still receive traffic ({wsdl['retired_routes']} of {wsdl['routes']} "
        f"routes retired)"
    )


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _diffs(route: dict[str, Any]) -> list[str]:
    recent = route["shadow"]["recent_diffs"][-DIFFS_SHOWN:]
    if not recent:
        return []
    lines = ["", f"{route['name']}: recent differences (path: legacy -> new, request id)"]
    for diff in recent:
        legacy, new = _json(diff["legacy"]), _json(diff["new"])
        lines.append(f"  {diff['path']}: {legacy} -> {new}  ({diff['request_id']})")
    return lines


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
