"""A circuit breaker per backend origin: stop calling a backend that keeps failing.

    breaker = CircuitBreaker(threshold=5, cool_down=10.0)
    probe = breaker.admit()       # BackendCircuitOpen (503, Retry-After) while open
    ... call ...
    breaker.succeeded() / breaker.failed() / breaker.abandoned(probe)

closed -> (threshold consecutive failures) -> open -> (cool-down) -> half-open: exactly one
call goes through as a probe, every other one is refused -> its success closes the breaker,
its failure opens it for another cool-down. What counts as a failure is the caller's to say
(facade/resilience/transport.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from facade.errors import BackendCircuitOpen

BreakerState = Literal["closed", "open", "half-open"]
STATE_VALUES: dict[BreakerState, int] = {"closed": 0, "half-open": 1, "open": 2}
"""The breaker state as a number, for the metrics gauge."""

DEFAULT_THRESHOLD = 5
"""Consecutive failures that open the breaker."""
DEFAULT_COOL_DOWN = 10.0
"""Seconds an open breaker refuses calls before it lets one probe through."""


class CircuitBreaker:
    """Counts consecutive failures of one origin and refuses calls while it is open."""

    def __init__(
        self,
        threshold: int = DEFAULT_THRESHOLD,
        cool_down: float = DEFAULT_COOL_DOWN,
        on_change: Callable[[BreakerState], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cool_down = cool_down
        self.on_change = on_change or (lambda state: None)
        self.clock = clock
        self.failures = 0
        self._state: BreakerState = "closed"
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        return self._state

    def admit(self) -> bool:
        """Let a call through, or raise BackendCircuitOpen; True when the call is the one
        probe of a half-open breaker."""
        if self._state == "closed":
            return False
        waited = self.clock() - self._opened_at
        if self._state == "open" and waited >= self.cool_down:
            self._set("half-open")
        if self._state == "half-open" and not self._probing:
            self._probing = True
            return True
        retry_after = self.cool_down - waited if self._state == "open" else 1.0
        raise BackendCircuitOpen(
            "The backend failed repeatedly; calls to it are paused", retry_after=retry_after
        )

    def succeeded(self) -> None:
        self.failures = 0
        self._probing = False
        if self._state != "closed":
            self._set("closed")

    def failed(self) -> None:
        self.failures += 1
        if self._state == "half-open" or self.failures >= self.threshold:
            self._probing = False
            self._opened_at = self.clock()
            if self._state != "open":
                self._set("open")

    def abandoned(self, probe: bool) -> None:
        """A call ended without saying anything about the backend (cancelled, refused by
        the concurrency limit): if it was the probe, the next call may probe instead."""
        if probe:
            self._probing = False

    def _set(self, state: BreakerState) -> None:
        self._state = state
        self.on_change(state)
