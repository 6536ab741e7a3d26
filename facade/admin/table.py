"""The status document as the text `facade status` prints: one row per route, then the
recent shadow differences of each route that has some."""

from __future__ import annotations

from typing import Any

import orjson

HEADER = (
    "ROUTE",
    "MODE",
    "PERCENT",
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
)
DIFFS_SHOWN = 5
"""Recent differences printed per route (the admin API keeps more)."""


def status_lines(document: dict[str, Any]) -> list[str]:
    """The table, aligned, followed by the recent differences and whose figures these are."""
    rows = [HEADER, *(_row(route) for route in document["routes"])]
    lines = _aligned(rows)
    for route in document["routes"]:
        lines.extend(_diffs(route))
    scope = document.get("counters", "this worker")
    lines.append(f"(requests and fallbacks: {scope}; shadow figures: this worker)")
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
    return (route["name"], route["mode"], percent, *map(str, figures))


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
