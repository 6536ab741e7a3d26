"""Token buckets: refill, refusal with the time to wait, and a store that stays bounded
however many callers come."""

from __future__ import annotations

import asyncio

import pytest

from facade.auth.policy import BucketSpec
from facade.auth.ratelimit import MemoryBuckets, RateLimited, RateLimiter, caller_key

SPEC = BucketSpec(rate=2, burst=3)


def test_a_bucket_allows_its_burst_then_refuses_then_refills() -> None:
    store = MemoryBuckets(10)

    async def run() -> None:
        decisions = [await store.take("a", SPEC, 0.0) for _ in range(4)]
        assert [d.allowed for d in decisions] == [True, True, True, False]
        assert [d.remaining for d in decisions] == [2, 1, 0, 0]
        assert decisions[3].retry_after == pytest.approx(0.5)
        assert decisions[3].reset == pytest.approx(1.5)
        assert decisions[3].headers() == {
            "RateLimit-Limit": "3",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "2",
        }
        assert (await store.take("a", SPEC, 0.5)).allowed
        assert not (await store.take("a", SPEC, 0.5)).allowed
        assert (await store.take("a", SPEC, 100.0)).remaining == 2  # never above burst

    asyncio.run(run())


def test_a_million_callers_keep_at_most_max_entries() -> None:
    store = MemoryBuckets(1000)

    async def run() -> None:
        for i in range(1_000_000):
            await store.take(f"caller-{i}", SPEC, i * 1e-6)

    asyncio.run(run())
    assert len(store) == 1000
    assert store.evictions == 1_000_000 - 1000


def test_idle_buckets_that_refilled_are_dropped() -> None:
    store = MemoryBuckets(1000)

    async def run() -> None:
        for i in range(10):
            await store.take(f"caller-{i}", SPEC, 0.0)
        await store.take("late", SPEC, 60.0)  # the others refilled long ago

    asyncio.run(run())
    assert len(store) == 1


def test_the_limiter_raises_429_with_the_buckets_fields() -> None:
    limiter = RateLimiter(MemoryBuckets(10), clock=lambda: 0.0)
    spec = BucketSpec(rate=0.5, burst=1)

    async def run() -> None:
        await limiter.take("r", spec, None, "10.0.0.1")
        with pytest.raises(RateLimited) as caught:
            await limiter.take("r", spec, None, "10.0.0.1")
        assert caught.value.status == 429
        assert caught.value.headers()["Retry-After"] == "2"
        assert caught.value.headers()["RateLimit-Remaining"] == "0"
        await limiter.take("other-route", spec, None, "10.0.0.1")
        await limiter.take("r", spec, None, "10.0.0.2")

    asyncio.run(run())


def test_callers_are_principals_else_addresses() -> None:
    assert caller_key({"sub": "u1", "via": "jwt"}, "10.0.0.1") == "jwt:u1"
    assert caller_key(None, "10.0.0.1") == "ip:10.0.0.1"
    assert caller_key(None, None) == "ip:unknown"


def test_a_store_of_no_entries_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MemoryBuckets(0)
