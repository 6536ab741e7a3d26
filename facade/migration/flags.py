"""Run-time flag state: per-route overrides of the declared mode, and the audit of every flip.

    store = MemoryFlagStore()
    store.update(lambda state: (state.with_override("get-customer", override), [entry]))
    store.current().overrides["get-customer"].mode     # "canary"
    store.history("get-customer")[-1].reason           # "ticket 42"

A store keeps one FlagState and an append-only audit. `update` is a read-modify-write that
no other writer can interleave with (in every process sharing the store), which is what
lets several workers trip guards and step ramps without losing each other's writes. The
in-process store here serves one worker; `facade.migration.state` keeps the same state in a
file for several; a store shared by replicas can come later behind the same Protocol.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol, cast, get_args

from facade.types import Mode, RouteName

MODES: tuple[Mode, ...] = get_args(Mode)
FACADE = "facade"
"""Who an automatic flip (a guard trip, a ramp step) is audited as."""
HISTORY_LIMIT = 1000
"""Audit entries an answer holds at most: the newest ones."""


@dataclass(frozen=True)
class Override:
    """An operator's (or the facade's own) choice for one route, over its declaration."""

    mode: Mode
    percent: float
    reason: str
    who: str
    when: float
    """Unix time of the flip."""
    automatic: bool = False
    """The facade flipped it itself (a guard trip or a ramp step)."""
    tripped: bool = False
    """A guard sent the route back to legacy: it stays there (and its ramp stays off) until
    an operator flips it again."""

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "percent": self.percent,
            "reason": self.reason,
            "who": self.who,
            "when": self.when,
            "automatic": self.automatic,
            "tripped": self.tripped,
        }

    @classmethod
    def from_json(cls, data: Any) -> Override:
        """Raise ValueError when `data` is not an override as `as_json` writes it."""
        if not isinstance(data, dict) or data.get("mode") not in MODES:
            raise ValueError("an override needs a mode: legacy, shadow, canary or new")
        return cls(
            mode=cast(Mode, data["mode"]),
            percent=_number(data.get("percent", 0)),
            reason=str(data.get("reason", "")),
            who=str(data.get("who", "")),
            when=_number(data.get("when", 0)),
            automatic=bool(data.get("automatic", False)),
            tripped=bool(data.get("tripped", False)),
        )


@dataclass(frozen=True)
class FlagState:
    """Every override, and when each ramp last stepped (unix time), shared by all workers."""

    overrides: Mapping[RouteName, Override] = field(default_factory=dict)
    ramp_steps: Mapping[RouteName, float] = field(default_factory=dict)

    def with_override(self, route: RouteName, override: Override | None) -> FlagState:
        overrides = {k: v for k, v in self.overrides.items() if k != route}
        if override is not None:
            overrides[route] = override
        return replace(self, overrides=overrides)

    def with_ramp_step(self, route: RouteName, when: float | None) -> FlagState:
        steps = {k: v for k, v in self.ramp_steps.items() if k != route}
        if when is not None:
            steps[route] = when
        return replace(self, ramp_steps=steps)

    def as_json(self) -> dict[str, Any]:
        return {
            "overrides": {name: o.as_json() for name, o in sorted(self.overrides.items())},
            "ramp_steps": dict(sorted(self.ramp_steps.items())),
        }

    @classmethod
    def from_json(cls, data: Any) -> FlagState:
        """Raise ValueError when `data` is not a state document."""
        if not isinstance(data, dict):
            raise ValueError("the state is not a JSON object")
        overrides, steps = data.get("overrides", {}), data.get("ramp_steps", {})
        if not isinstance(overrides, dict) or not isinstance(steps, dict):
            raise ValueError("overrides and ramp_steps must be JSON objects")
        return cls(
            {str(name): Override.from_json(value) for name, value in overrides.items()},
            {str(name): _number(value) for name, value in steps.items()},
        )


@dataclass(frozen=True)
class AuditEntry:
    """One flip: who moved which route from what to what, and why."""

    when: float
    who: str
    route: RouteName
    from_mode: Mode
    from_percent: float
    to_mode: Mode
    percent: float
    reason: str
    automatic: bool
    figure: float | None = None
    """For a guard trip: the rate that crossed the threshold."""
    threshold: float | None = None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "when": datetime.fromtimestamp(self.when, UTC).isoformat(timespec="milliseconds"),
            "who": self.who,
            "route": self.route,
            "from": self.from_mode,
            "from_percent": self.from_percent,
            "to": self.to_mode,
            "percent": self.percent,
            "reason": self.reason,
            "automatic": self.automatic,
        }
        if self.figure is not None:
            document |= {"figure": self.figure, "threshold": self.threshold}
        return document

    @classmethod
    def from_json(cls, data: Any) -> AuditEntry:
        """Raise ValueError (or KeyError, TypeError) when `data` is not an audit line."""
        if not isinstance(data, dict) or data.get("from") not in MODES:
            raise ValueError("not an audit entry")
        if data.get("to") not in MODES:
            raise ValueError("not an audit entry")
        figure = data.get("figure")
        return cls(
            when=datetime.fromisoformat(str(data["when"])).timestamp(),
            who=str(data["who"]),
            route=str(data["route"]),
            from_mode=cast(Mode, data["from"]),
            from_percent=_number(data.get("from_percent", 0)),
            to_mode=cast(Mode, data["to"]),
            percent=_number(data.get("percent", 0)),
            reason=str(data.get("reason", "")),
            automatic=bool(data.get("automatic", False)),
            figure=None if figure is None else _number(figure),
            threshold=None if figure is None else _number(data.get("threshold")),
        )


@dataclass(frozen=True)
class Effective:
    """The setting a route serves with now, and the override behind it (None: declared)."""

    mode: Mode
    percent: float
    override: Override | None = None


Change = Callable[[FlagState], tuple[FlagState, list[AuditEntry]]]
"""A read-modify-write: the state as it is now -> the state to keep and the flips to audit."""


class StateUnavailable(Exception):
    """The store cannot take a flip (its file is corrupt or unreadable); the message says
    what to repair. The declared modes serve meanwhile."""


class FlagStore(Protocol):
    """Where overrides live; safe to call from any thread of any worker sharing it."""

    def current(self) -> FlagState:
        """The state now: cheap enough to call on every request."""
        ...

    def update(self, change: Change) -> FlagState:
        """Apply `change` to the latest state with no other writer in between; keep the
        result and append its audit entries. Raise StateUnavailable when it cannot."""
        ...

    def history(self, route: RouteName | None = None) -> list[AuditEntry]:
        """The newest audit entries (up to HISTORY_LIMIT), oldest first, of one route or all."""
        ...

    def problem(self) -> str | None:
        """Why the stored state cannot be read (then flips are refused), or None."""
        ...

    def describe(self) -> str:
        """Where the state lives, for /readyz and the logs."""
        ...


class MemoryFlagStore:
    """The in-process store of a single worker: state and audit die with the process."""

    def __init__(self) -> None:
        self._state = FlagState()
        self._audit: list[AuditEntry] = []
        self._lock = threading.Lock()

    def current(self) -> FlagState:
        return self._state

    def update(self, change: Change) -> FlagState:
        with self._lock:
            state, entries = change(self._state)
            self._state = state
            self._audit.extend(entries)
            return state

    def history(self, route: RouteName | None = None) -> list[AuditEntry]:
        with self._lock:
            return last_entries(self._audit, route)

    def problem(self) -> str | None:
        return None

    def describe(self) -> str:
        return "in-process (lost at exit)"


def last_entries(entries: list[AuditEntry], route: RouteName | None) -> list[AuditEntry]:
    """The newest HISTORY_LIMIT entries of `route` (or of every route), oldest first."""
    chosen = [e for e in entries if route is None or e.route == route]
    return chosen[-HISTORY_LIMIT:]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def audit_entry(
    when: float,
    who: str,
    name: RouteName,
    before: Effective,
    mode: Mode,
    percent: float,
    reason: str,
    automatic: bool,
    found: tuple[float, float] | None = None,
) -> AuditEntry:
    """The audit line of a flip from `before` to `mode`/`percent`; `found` is a guard
    trip's (figure, threshold)."""
    return AuditEntry(
        when,
        who,
        name,
        before.mode,
        before.percent,
        mode,
        percent,
        reason,
        automatic,
        found[0] if found else None,
        found[1] if found else None,
    )


def iso_time(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")
