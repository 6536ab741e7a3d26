"""When a failed backend call may be tried again, and how long to wait first.

    policy = RetryPolicy(attempts=3, base=0.05, cap=1.0)
    policy.backoff(1)            # 0..100 ms (full jitter), then 0..200 ms ...
    budget = RetryBudget(ratio=0.2, minimum=10, window=10.0)
    budget.called(); budget.may_retry()

A retry is safe when the operation only reads, or when nothing reached the backend (the
connection was never made). A write whose request may have been sent is never retried: it
may have been done already. The budget keeps retries to a share of the calls, so a failing
backend does not get its load multiplied by the facade.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from facade.errors import BackendError, BackendReplyTooLarge, BackendTimeout, BackendUnreachable

DEFAULT_ATTEMPTS = 3
"""Attempts per call in all: the first and at most two retries."""
DEFAULT_BASE = 0.05
"""The first retry waits up to 50 ms, each further one up to twice as long as the one before."""
DEFAULT_CAP = 1.0
"""No wait between attempts is longer than 1 s."""
DEFAULT_BUDGET_RATIO = 0.2
"""Retries per origin are at most 20 % of its calls in the window..."""
DEFAULT_BUDGET_MINIMUM = 10
"""... plus 10, so a quiet origin can still retry."""
BUDGET_WINDOW = 10.0
"""Seconds over which calls and retries are counted."""
MIN_ATTEMPT_SECONDS = 0.01
"""A retry is only started when at least this long (or as long as the failed attempt took)
is left of the deadline after its wait."""
RETRY_STATUSES = frozenset({502, 503, 504})
"""Replies that say a gateway could not reach the backend: retried on safe routes."""


def nothing_sent(error: BackendError) -> bool:
    """The call failed before its request left: the connection was never made."""
    return isinstance(error, BackendUnreachable)


def retryable(error: BackendError, safe: bool) -> bool:
    """Whether a failed attempt may be repeated: any call when nothing was sent; a safe one
    after a connection failure. A timeout has spent the deadline; an oversized reply would
    be as large again."""
    if nothing_sent(error):
        return True
    if isinstance(error, BackendTimeout | BackendReplyTooLarge):
        return False
    return safe


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a call gets and how long it waits between them."""

    attempts: int = DEFAULT_ATTEMPTS
    base: float = DEFAULT_BASE
    cap: float = DEFAULT_CAP

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry` (1, 2...): full jitter, uniform
        between 0 and base * 2^(retry-1), at most `cap`, so callers that failed together
        do not come back together."""
        ceiling = min(self.cap, self.base * 2 ** (retry - 1))
        return (rng or _RANDOM).uniform(0.0, ceiling)


_RANDOM = random.Random()  # noqa: S311 - jitter, not security


class RetryBudget:
    """Calls and retries of one origin over a sliding window, in one-second buckets:
    a retry is allowed while retries stay under `ratio` of the calls plus `minimum`."""

    def __init__(
        self,
        ratio: float = DEFAULT_BUDGET_RATIO,
        minimum: int = DEFAULT_BUDGET_MINIMUM,
        window: float = BUDGET_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.minimum = minimum
        self.clock = clock
        self.slots = max(1, int(window))
        self._width = window / self.slots
        self._buckets: list[list[int]] = [[-1, 0, 0] for _ in range(self.slots)]

    def called(self) -> None:
        self._bucket()[1] += 1

    def may_retry(self) -> bool:
        """True (and the retry counted) when the budget has room for one more retry."""
        calls, retries = self._totals()
        if retries >= self.minimum + self.ratio * calls:
            return False
        self._bucket()[2] += 1
        return True

    def _bucket(self) -> list[int]:
        tick = int(self.clock() / self._width)
        bucket = self._buckets[tick % self.slots]
        if bucket[0] != tick:
            bucket[:] = [tick, 0, 0]
        return bucket

    def _totals(self) -> tuple[int, int]:
        oldest = int(self.clock() / self._width) - self.slots + 1
        live = [b for b in self._buckets if b[0] >= oldest]
        return sum(b[1] for b in live), sum(b[2] for b in live)
