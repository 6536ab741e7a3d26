"""Token buckets per caller and route, behind a small store interface.

A caller is its principal (`jwt:user-42`), or its connection's address when anonymous
(`ip:10.0.0.7`). Each (route, caller) has a bucket of `burst` tokens refilled at `rate`
per second; a request takes one, and finds none at its peril: 429 with Retry-After.

Every answer of a limited route says where the caller stands, in the header fields of
draft-ietf-httpapi-ratelimit-headers (the separate-field form):

    RateLimit-Limit: 20        the bucket's size (burst)
    RateLimit-Remaining: 7     requests left right now
    RateLimit-Reset: 3         seconds until the bucket is full again
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from facade.auth.policy import BucketSpec
from facade.errors import TooManyRequests
from facade.types import Principal, RouteName


@dataclass(frozen=True)
class Decision:
    """One request's take from its bucket."""

    allowed: bool
    limit: int
    remaining: int
    reset: float
    """Seconds until the bucket is full again."""
    retry_after: float
    """Seconds until a token is there (0 when allowed)."""

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset)),
        }


class RateLimited(TooManyRequests):
    """429 with Retry-After and the RateLimit-* fields of the caller's bucket."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        super().__init__(
            f"Too many requests on this route; at most {decision.limit} at once",
            retry_after=decision.retry_after,
        )

    def headers(self) -> dict[str, str]:
        return {**super().headers(), **self.decision.headers()}


class BucketStore(Protocol):
    """Where buckets live: in this process now; a shared store (Redis) for replicas later."""

    async def take(self, key: str, spec: BucketSpec, now: float) -> Decision: ...


class MemoryBuckets:
    """In-process buckets, at most `max_entries`, kept in least-recently-used order.

    A bucket left alone long enough to refill is the same as no bucket, so such idle ones
    are dropped as they come first in that order; beyond `max_entries` the least recently
    used go anyway (their callers get a full bucket back: a limit, not a ledger). A million
    distinct callers therefore hold at most `max_entries` small entries.
    """

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.evictions = 0
        # key -> (tokens, time of that count, time it will be full)
        self._buckets: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, key: str, spec: BucketSpec, now: float) -> Decision:
        tokens, updated, _ = self._buckets.pop(key, (float(spec.burst), now, now))
        tokens = min(float(spec.burst), tokens + max(0.0, now - updated) * spec.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        full_in = (spec.burst - tokens) / spec.rate
        self._buckets[key] = (tokens, now, now + full_in)
        self._evict(now)
        return Decision(
            allowed=allowed,
            limit=spec.burst,
            remaining=int(tokens),
            reset=full_in,
            retry_after=0.0 if allowed else (1.0 - tokens) / spec.rate,
        )

    def _evict(self, now: float) -> None:
        while len(self._buckets) > self.max_entries:
            self._buckets.popitem(last=False)
            self.evictions += 1
        while self._buckets:
            oldest = next(iter(self._buckets))
            if self._buckets[oldest][2] > now:
                break
            del self._buckets[oldest]


class RateLimiter:
    """The bucket of (route, caller), taken from; raises RateLimited when empty.

    limiter = RateLimiter(MemoryBuckets(100_000))
    decision = await limiter.take("get-customer", BucketSpec(5, 10), principal, "10.0.0.7")
    """

    def __init__(self, store: BucketStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock

    async def take(
        self, route: RouteName, spec: BucketSpec, principal: Principal, address: str | None
    ) -> Decision:
        key = f"{route}\n{caller_key(principal, address)}"
        decision = await self.store.take(key, spec, self.clock())
        if not decision.allowed:
            raise RateLimited(decision)
        return decision


def caller_key(principal: Principal, address: str | None) -> str:
    """The principal (`jwt:user-42`), else the peer address (`ip:10.0.0.7`)."""
    if principal is not None:
        return f"{principal.get('via')}:{principal.get('sub')}"
    return f"ip:{address or 'unknown'}"
