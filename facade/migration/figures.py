"""A route's recent figures in this worker: the new side's last calls and the last shadow
comparisons, and whether they cross the route's guard.

    figures = Figures()
    figures.new_call("get-customer", failed=True, at=time.time(), keep=200)
    crossing(guard, figures.route("get-customer"))   # Crossing("error_rate", 0.5, 0.05) or None

A route keeps as many calls as its guard's window (DEFAULT_KEEP without a guard). Rates are
taken over a full window only: two failures out of the first three calls say
little, and tripping on them would send a healthy canary back at its first hiccup.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from facade.mapping.loader import GuardPolicy
from facade.types import RouteName

DEFAULT_KEEP = 1000
"""Calls remembered per route when no guard says how many (for a ramp's `min_calls`)."""

Figure = Literal["error_rate", "mismatch_rate"]


@dataclass(frozen=True)
class Crossing:
    """The figure that crossed its threshold."""

    figure: Figure
    value: float
    threshold: float

    def reason(self, window: int) -> str:
        counted = "calls" if self.figure == "error_rate" else "comparisons"
        return (
            f"guard: {self.figure} {self.value:.3g} over the last {window} {counted} "
            f"crossed {self.threshold:g}"
        )


class RouteFigures:
    """One route's last `keep` new-side calls (time, failed) and comparisons (mismatched),
    with running counts so that a rate costs nothing on the request path."""

    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        self.keep = max(keep, 1)
        self.calls: deque[tuple[float, bool]] = deque(maxlen=self.keep)
        self.comparisons: deque[bool] = deque(maxlen=self.keep)
        self.failures = 0
        self.mismatches = 0

    def add_call(self, at: float, failed: bool) -> None:
        if len(self.calls) == self.keep:
            self.failures -= self.calls[0][1]
        self.calls.append((at, failed))
        self.failures += failed

    def add_comparison(self, mismatched: bool) -> None:
        if len(self.comparisons) == self.keep:
            self.mismatches -= self.comparisons[0]
        self.comparisons.append(mismatched)
        self.mismatches += mismatched

    def error_rate(self) -> float | None:
        """Failed share of the last `keep` calls; None until that many were made."""
        return self.failures / self.keep if len(self.calls) == self.keep else None

    def mismatch_rate(self) -> float | None:
        return self.mismatches / self.keep if len(self.comparisons) == self.keep else None

    def calls_since(self, when: float) -> int:
        return sum(1 for at, _ in self.calls if at >= when)

    def as_json(self, guard: GuardPolicy | None) -> dict[str, Any]:
        return {
            "window": self.keep,
            "calls": len(self.calls),
            "comparisons": len(self.comparisons),
            "error_rate": self.error_rate(),
            "error_rate_limit": guard.error_rate if guard else None,
            "mismatch_rate": self.mismatch_rate(),
            "mismatch_rate_limit": guard.mismatch_rate if guard else None,
        }


class Figures:
    """Every route's figures in this worker (they are not shared between workers)."""

    def __init__(self) -> None:
        self._routes: dict[RouteName, RouteFigures] = {}

    def route(self, name: RouteName, keep: int = DEFAULT_KEEP) -> RouteFigures:
        return self._routes.get(name) or RouteFigures(keep)

    def new_call(self, name: RouteName, failed: bool, at: float, keep: int) -> RouteFigures:
        figures = self._held(name, keep)
        figures.add_call(at, failed)
        return figures

    def compared(self, name: RouteName, mismatched: bool, keep: int) -> RouteFigures:
        figures = self._held(name, keep)
        figures.add_comparison(mismatched)
        return figures

    def forget(self, name: RouteName) -> None:
        """Start over: after a flip, the old figures say nothing of the new setting."""
        self._routes.pop(name, None)

    def _held(self, name: RouteName, keep: int) -> RouteFigures:
        figures = self._routes.get(name)
        if figures is None:
            figures = self._routes[name] = RouteFigures(keep)
        return figures


def crossing(guard: GuardPolicy | None, figures: RouteFigures) -> Crossing | None:
    """The first of the guard's thresholds that the figures are above, if any."""
    if guard is None:
        return None
    if guard.error_rate is not None:
        rate = figures.error_rate()
        if rate is not None and rate > guard.error_rate:
            return Crossing("error_rate", rate, guard.error_rate)
    if guard.mismatch_rate is not None:
        rate = figures.mismatch_rate()
        if rate is not None and rate > guard.mismatch_rate:
            return Crossing("mismatch_rate", rate, guard.mismatch_rate)
    return None
