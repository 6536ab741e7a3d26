"""A canary's next step, as a pure decision over plain values.

ramp = RampPolicy(step=10, every=600, max=100)
due(ramp, last=1000.0, now=1600.0)   # True: ten minutes since the last step
next_step(ramp, 90.0)                # ("new", 0.0): reaching 100 % makes the route new
next_step(RampPolicy(10, 600, max=50), 50.0)   # None: the ramp is at its top
"""

from __future__ import annotations

from facade.mapping.loader import RampPolicy
from facade.types import Mode

FULL = 100.0


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
