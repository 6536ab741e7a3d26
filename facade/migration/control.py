"""The flags in force: each route's declared migration with the store's overrides on top,
the flips operators make, and the ones the facade makes itself (guard trips, ramp steps).

    control = FlagControl(routes, store, has_new={"get-customer"})
    control.listeners.append(cache.purge)          # told of every route whose setting changed
    control.effective("get-customer")              # Effective("canary", 10.0, override)
    control.flip("get-customer", "new", None, "ticket 42", who="alice")
    control.served("get-customer", "new", failed=True)   # may trip the route's guard

`effective` is on the request path: one stat() of the state file (for a file store) and a
dict lookup; the table of effective settings is rebuilt only when the store's state
changed. The figures guards read are this worker's own; a trip is written to the store, so
it reaches every worker on its next request.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from facade.mapping.loader import MigrationPolicy, RouteMapping
from facade.migration.figures import DEFAULT_KEEP, Crossing, Figures, RouteFigures, crossing
from facade.migration.flags import (
    FACADE,
    MODES,
    AuditEntry,
    Effective,
    FlagState,
    FlagStore,
    Override,
    StateUnavailable,
    audit_entry,
    iso_time,
)
from facade.migration.ramp import RampSnapshot, next_step, step_route
from facade.types import Mode, RouteName, ServedBy

log = logging.getLogger("facade.flags")

DEFAULT_RETIRE_AFTER = 7 * 86400.0
"""A route in new with no fallback for this long counts as retired (FACADE_RETIRE_AFTER)."""
NEEDS_NEW: frozenset[str] = frozenset({"shadow", "canary", "new"})
GUARDED: frozenset[str] = frozenset({"canary", "new"})

OnFlip = Callable[[RouteName], object]
"""Told the name of a route whose mode or percent changed (its return value is ignored)."""


class FlipRefused(Exception):
    """A flip that makes no sense; `field` is the request field that is wrong."""

    def __init__(self, field: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


class FlagControl:
    """Declared settings, the store's overrides, this worker's figures, and the flips."""

    def __init__(
        self,
        routes: Iterable[RouteMapping],
        store: FlagStore,
        *,
        has_new: Iterable[RouteName] = (),
        retire_after: float = DEFAULT_RETIRE_AFTER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.declared: dict[RouteName, MigrationPolicy] = {r.name: r.migration for r in routes}
        self.has_new = frozenset(has_new)
        self.store = store
        self.retire_after = retire_after
        self.clock = clock
        self.figures = Figures()
        self.listeners: list[OnFlip] = []
        self.started = clock()
        self._state: FlagState | None = None
        self._effective: dict[RouteName, Effective] = {}
        self._local: dict[RouteName, Override] = {}
        """Trips the store refused to keep: they hold in this worker at least."""
        self._last_fallback: dict[RouteName, float] = {}
        self.refresh()

    # -- the request path -------------------------------------------------------------

    def effective(self, name: RouteName) -> Effective:
        """The route's setting now (a flip in any worker shows on the next call)."""
        if self.store.current() is not self._state:
            self.refresh()
        return self._effective[name]

    def setting(self, name: RouteName) -> tuple[Mode, float]:
        """Mode and percent, as the pipeline asks for them."""
        effective = self.effective(name)
        return effective.mode, effective.percent

    def redeclare(self, routes: Iterable[RouteMapping], has_new: Iterable[RouteName]) -> None:
        """New declarations (the mapping files changed); overrides stay as they are. Call it
        on the event loop, like `effective`."""
        self.declared = {route.name: route.migration for route in routes}
        self.has_new = frozenset(has_new)
        self._effective = {k: v for k, v in self._effective.items() if k in self.declared}
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the effective settings from the store; tell listeners of each change."""
        state = self.store.current()
        table = {name: self._resolve(state, name) for name in self.declared}
        before, self._state, self._effective = self._effective, state, table
        for name, now in table.items():
            old = before.get(name)
            if old is not None and (old.mode, old.percent) != (now.mode, now.percent):
                self._changed(name, old, now)

    def served(self, name: RouteName, side: ServedBy | None, failed: bool) -> None:
        """Count one request's new-side call (a fallback is a failed one), then check the
        route's guard. `failed`: the side failed on its own (5xx, timeout, no connection)."""
        if side not in ("new", "legacy-fallback") or name not in self.declared:
            return
        now = self.clock()
        if side == "legacy-fallback":
            self._last_fallback[name] = now
        figures = self.figures.new_call(
            name, failed or side == "legacy-fallback", now, self._keep(name)
        )
        self._check(name, figures)

    def compared(self, name: RouteName, result: str | None) -> None:
        """Count one shadow comparison (match or mismatch), then check the route's guard."""
        if result not in ("match", "mismatch") or name not in self.declared:
            return
        self._check(name, self.figures.compared(name, result == "mismatch", self._keep(name)))

    # -- operator flips -------------------------------------------------------------------

    def flip(
        self, name: RouteName, mode: str, percent: float | None, reason: str, who: str
    ) -> Effective:
        """Set a route's mode (and canary percent); FlipRefused when it makes no sense."""
        chosen = self.check_flip(name, mode, percent)
        now = self.clock()
        override = Override(chosen, percent or 0.0, reason, who, now)

        def change(state: FlagState) -> tuple[FlagState, list[AuditEntry]]:
            before = self._resolve(state, name)
            entry = audit_entry(now, who, name, before, chosen, override.percent, reason, False)
            return state.with_override(name, override).with_ramp_step(name, None), [entry]

        self._update(change)
        return self._resolve(self.store.current(), name)

    def reset(self, name: RouteName, reason: str, who: str) -> Effective:
        """Back to the mapping file's declaration."""
        self._known(name)
        now = self.clock()
        declared = self.declared[name]

        def change(state: FlagState) -> tuple[FlagState, list[AuditEntry]]:
            before = self._resolve(state, name)
            entry = audit_entry(
                now, who, name, before, declared.mode, declared.percent, reason, False
            )
            return state.with_override(name, None).with_ramp_step(name, None), [entry]

        self._local.pop(name, None)
        self._update(change)
        return self._resolve(self.store.current(), name)

    def kill(self, reason: str, who: str) -> list[RouteName]:
        """Every route back to legacy at once; the names of those that moved."""
        now = self.clock()
        moved: list[RouteName] = []

        def change(state: FlagState) -> tuple[FlagState, list[AuditEntry]]:
            entries = []
            moved.clear()
            for name in sorted(self.declared):
                before = self._resolve(state, name)
                if before.mode == "legacy":
                    continue
                state = state.with_override(name, Override("legacy", 0.0, reason, who, now))
                state = state.with_ramp_step(name, None)
                entries.append(audit_entry(now, who, name, before, "legacy", 0.0, reason, False))
                moved.append(name)
            return state, entries

        self._update(change)
        return moved

    def history(self, name: RouteName | None = None) -> list[AuditEntry]:
        if name is not None:
            self._known(name)
        return self.store.history(name)

    def check_flip(self, name: RouteName, mode: str, percent: float | None) -> Mode:
        """The mode, once the flip is known to make sense; FlipRefused naming the field."""
        self._known(name)
        chosen = next((m for m in MODES if m == mode), None)
        if chosen is None:
            raise FlipRefused("mode", f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if chosen in NEEDS_NEW and name not in self.has_new:
            raise FlipRefused(
                "mode", f"route {name!r} has no new: side, so it can only be served by legacy"
            )
        if percent is not None and chosen != "canary":
            raise FlipRefused("percent", f"percent applies to mode canary only (mode is {chosen})")
        if chosen == "canary" and percent is None:
            raise FlipRefused("percent", "mode canary needs a percent, from 0 to 100")
        if percent is not None and not (math.isfinite(percent) and 0 <= percent <= 100):
            raise FlipRefused("percent", f"percent must be from 0 to 100, not {percent:g}")
        return chosen

    # -- the facade's own flips -------------------------------------------------------

    def ramp_snapshot(self) -> dict[RouteName, RampSnapshot]:
        """This worker's figures for each ramping route (call on the event loop)."""
        snapshot = {}
        for name, policy in self.declared.items():
            if policy.ramp is None:
                continue
            figures = self.figures.route(name, self._keep(name))
            calls = tuple(at for at, _ in figures.calls)
            snapshot[name] = RampSnapshot(calls, crossing(policy.guard, figures) is not None)
        return snapshot

    def ramp_tick(self, snapshot: Mapping[RouteName, RampSnapshot]) -> list[AuditEntry]:
        """Step every canary that is due, deciding under the store's lock with the last
        step's time kept in the store, so that one step happens per period however many
        workers tick. Safe to run off the event loop."""
        if not snapshot:
            return []
        now = self.clock()
        steps: list[AuditEntry] = []

        def change(state: FlagState) -> tuple[FlagState, list[AuditEntry]]:
            steps.clear()
            for name, figures in snapshot.items():
                state, entry = self._ramp_route(state, name, figures, now)
                steps.extend([entry] if entry else [])
            return state, list(steps)

        try:
            self.store.update(change)
        except StateUnavailable as exc:
            log.error("ramp step skipped: %s", exc)
            return []
        return steps

    def tick_seconds(self) -> float | None:
        """How often the ramp task should look (None: no route ramps)."""
        periods = [p.ramp.every for p in self.declared.values() if p.ramp is not None]
        return min(1.0, max(0.05, min(periods) / 4)) if periods else None

    # -- the status ---------------------------------------------------------------------

    def describe(self, name: RouteName) -> dict[str, Any]:
        """The route's declared and effective setting, guard figures, ramp and retirement."""
        policy, effective = self.declared[name], self.effective(name)
        figures = self.figures.route(name, self._keep(name))
        override = effective.override
        return {
            "declared": {"mode": policy.mode, "percent": policy.percent},
            "effective": {"mode": effective.mode, "percent": effective.percent},
            "override": override.as_json() if override else None,
            "guard": figures.as_json(policy.guard),
            "failing": crossing(policy.guard, figures) is not None,
            "ramp": self._ramp_status(name, effective),
            "retired": self._retired(name, effective),
        }

    def problem(self) -> str | None:
        return self.store.problem()

    # -- inside -------------------------------------------------------------------------

    def _resolve(self, state: FlagState, name: RouteName) -> Effective:
        override = self._local.get(name) or state.overrides.get(name)
        # an override that needs a new side the mapping no longer names is not applied
        if override is not None and (override.mode not in NEEDS_NEW or name in self.has_new):
            return Effective(override.mode, override.percent, override)
        policy = self.declared[name]
        return Effective(policy.mode, policy.percent)

    def _changed(self, name: RouteName, old: Effective, now: Effective) -> None:
        self.figures.forget(name)  # the figures of the old setting say nothing of the new
        fields = {"route": name, "from": old.mode, "to": now.mode, "percent": now.percent}
        log.info("route flipped", extra={"fields": fields})
        for listener in self.listeners:
            listener(name)

    def _keep(self, name: RouteName) -> int:
        guard = self.declared[name].guard
        return guard.window if guard is not None else DEFAULT_KEEP

    def _check(self, name: RouteName, figures: RouteFigures) -> None:
        found = crossing(self.declared[name].guard, figures)
        if found is not None and self._effective[name].mode in GUARDED:
            self._trip(name, found)

    def _trip(self, name: RouteName, found: Crossing) -> None:
        """Send the route back to legacy, audited as automatic with the figure. This runs on
        the request path, once: the flip clears the figures that tripped it."""
        now = self.clock()
        reason = found.reason(self._keep(name))
        override = Override("legacy", 0.0, reason, FACADE, now, automatic=True, tripped=True)

        def change(state: FlagState) -> tuple[FlagState, list[AuditEntry]]:
            before = self._resolve(state, name)
            if before.mode not in GUARDED:  # another worker tripped it first
                return state, []
            entry = audit_entry(
                now,
                FACADE,
                name,
                before,
                "legacy",
                0.0,
                reason,
                True,
                (found.value, found.threshold),
            )
            return state.with_override(name, override).with_ramp_step(name, None), [entry]

        log.warning("guard tripped", extra={"fields": {"route": name, "reason": reason}})
        try:
            self.store.update(change)
        except StateUnavailable as exc:
            log.error("guard trip kept in this worker only: %s", exc)
            self._local[name] = override
            self._state = None  # force the table to be rebuilt with the local trip
        self.refresh()

    def _update(self, change: Callable[[FlagState], tuple[FlagState, list[AuditEntry]]]) -> None:
        try:
            self.store.update(change)
        except StateUnavailable as exc:
            raise FlipRefused("state", str(exc), status=409) from exc

    def _known(self, name: RouteName) -> None:
        if name not in self.declared:
            raise FlipRefused("route", f"no route named {name!r}", status=404)

    def _ramp_route(
        self, state: FlagState, name: RouteName, figures: RampSnapshot, now: float
    ) -> tuple[FlagState, AuditEntry | None]:
        ramp = self.declared[name].ramp
        if ramp is None:
            return state, None
        return step_route(state, name, ramp, self._resolve(state, name), figures, now)

    def _ramp_status(self, name: RouteName, effective: Effective) -> dict[str, Any] | None:
        ramp = self.declared[name].ramp
        if ramp is None:
            return None
        status: dict[str, Any] = {"step": ramp.step, "every": ramp.every, "max": ramp.max}
        tripped = effective.override is not None and effective.override.tripped
        last = self._state.ramp_steps.get(name) if self._state else None
        step = next_step(ramp, effective.percent) if effective.mode == "canary" else None
        active = step is not None and not tripped
        status["state"] = "tripped" if tripped else ("running" if active else "stopped")
        if active and step is not None:
            status["next_percent"] = 100.0 if step[0] == "new" else step[1]
            status["next_at"] = iso_time(last + ramp.every) if last is not None else None
        return status

    def _retired(self, name: RouteName, effective: Effective) -> bool:
        """In new with no fallback (seen by this worker) for `retire_after` seconds."""
        if effective.mode != "new":
            return False
        override = effective.override
        since = override.when if override and override.mode == "new" else self.started
        since = max(since, self._last_fallback.get(name, 0.0))
        return self.clock() - since >= self.retire_after
