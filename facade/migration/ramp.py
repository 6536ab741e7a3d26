"""A canary's next step, as a pure decision over plain values.

ramp = RampPolicy(step=10, every=600, max=100)
due(ramp, last=1000.0, now=1600.0)   # True: ten minutes since the last step
next_step(ramp, 90.0)                # ("new", 0.0): reaching 100 % makes the route new
next_step(RampPolicy(10, 600, max=50), 50.0)   # None: the ramp is at its top
"""

from __future__ import annotations

from dataclasses import dataclass

from facade.mapping.loader import RampPolicy
from facade.migration.flags import FACADE, AuditEntry, Effective, FlagState, Override, audit_entry
from facade.types import Mode, RouteName

FULL = 100.0


@dataclass(frozen=True)
class RampSnapshot:
    """What the ramp decision needs of this worker's figures, copied on the event loop."""

    calls: tuple[float, ...]
    """When the new side's recent calls were made."""
    crossed: bool


def due(ramp: RampPolicy, last: float | None, now: float) -> bool:
    """A step is due when `every` seconds passed since the last one (or the ramp's start)."""
    return last is not None and now - last >= ramp.every


def next_step(ramp: RampPolicy, percent: float) -> tuple[Mode, float] | None:
    """The mode and percent after one more step, or None when the ramp is at `max`."""
    target = min(percent + ramp.step, ramp.max)
    if target <= percent:
        return None
    if target >= FULL:
        return "new", 0.0
    return "canary", round(target, 2)


def step_route(
    state: FlagState,
    name: RouteName,
    ramp: RampPolicy,
    before: Effective,
    figures: RampSnapshot,
    now: float,
) -> tuple[FlagState, AuditEntry | None]:
    """One route's ramp under the store's lock: start its clock, or take a step when it is
    due, its guard holds and enough calls were seen; a route off canary (or tripped) has no
    ramp running."""
    if before.mode != "canary" or (before.override and before.override.tripped):
        return state.with_ramp_step(name, None), None
    last = state.ramp_steps.get(name)
    if last is None:  # the ramp starts now: its first step comes `every` later
        return state.with_ramp_step(name, now), None
    if not due(ramp, last, now) or figures.crossed:
        return state, None
    if sum(1 for at in figures.calls if at >= last) < ramp.min_calls:
        return state, None
    step = next_step(ramp, before.percent)
    if step is None:
        return state, None
    mode, percent = step
    reason = f"ramp: {before.percent:g}% -> {'new' if mode == 'new' else f'{percent:g}%'}"
    override = Override(mode, percent, reason, FACADE, now, automatic=True)
    entry = audit_entry(now, FACADE, name, before, mode, percent, reason, True)
    return state.with_override(name, override).with_ramp_step(name, now), entry
