"""The cache step alone: fresh entries answer, misses for one key share one call."""

from __future__ import annotations

import asyncio

from facade.backends.base import BackendReply
from facade.cache.step import ResponseCache
from facade.cache.store import MemoryStore
from facade.errors import BackendTimeout, ClientError
from facade.pipeline import Failure, Outcome


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_misses_share_one_call_even_when_it_fails() -> None:
    cache = ResponseCache(MemoryStore())
    calls = 0

    async def produce() -> Outcome:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return Failure(BackendTimeout(), side="legacy")

    async def many() -> list[tuple[Outcome, bool]]:
        jobs = [cache.fetch("k", "r", 60, 5.0, produce) for _ in range(200)]
        return await asyncio.gather(*jobs)

    results = asyncio.run(many())
    assert calls == 1
    assert all(isinstance(outcome, Failure) for outcome, _ in results)
    assert sum(called for _, called in results) == 1
    assert cache.store.get("k") is None


def test_a_fresh_entry_answers_until_its_ttl_passes() -> None:
    clock = Clock()
    cache = ResponseCache(MemoryStore(), clock)
    calls = 0

    async def produce() -> Outcome:
        nonlocal calls
        calls += 1
        return BackendReply(200, b'{"n":%d}' % calls, "legacy", elapsed=0.01)

    async def fetch() -> tuple[Outcome, bool]:
        return await cache.fetch("k", "r", 10, 5.0, produce)

    first, called = asyncio.run(fetch())
    assert called and isinstance(first, BackendReply)
    clock.now += 9.9
    hit, called = asyncio.run(fetch())
    assert not called and isinstance(hit, BackendReply)
    assert (hit.encoded, hit.side) == (b'{"n":1}', "legacy")
    clock.now += 0.2
    fresh, called = asyncio.run(fetch())
    assert called and isinstance(fresh, BackendReply) and fresh.encoded == b'{"n":2}'


def test_errors_and_client_errors_are_not_stored() -> None:
    cache = ResponseCache(MemoryStore())

    async def produce() -> Outcome:
        return BackendReply(404, b"{}", "legacy", elapsed=0.01)

    asyncio.run(cache.fetch("k", "r", 60, 5.0, produce))
    assert cache.store.get("k") is None


def test_a_waiter_that_outlives_its_wait_calls_itself() -> None:
    cache = ResponseCache(MemoryStore())
    calls = 0

    async def produce() -> Outcome:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3 if calls == 1 else 0)
        return Failure(BackendTimeout(), side="legacy")

    async def both() -> None:
        leader = asyncio.create_task(cache.fetch("k", "r", 60, 5.0, produce))
        await asyncio.sleep(0.01)
        _, called = await cache.fetch("k", "r", 60, 0.05, produce)
        assert called
        await leader

    asyncio.run(both())
    assert calls == 2


def test_stale_only_within_the_grace_and_only_for_backend_failures() -> None:
    clock = Clock()
    cache = ResponseCache(MemoryStore(), clock)
    replies: list[Outcome] = [
        BackendReply(200, b"{}", "legacy", elapsed=0.01),
        Failure(ClientError("no", status=404), side="legacy"),
        Failure(BackendTimeout(), side="legacy"),
        Failure(BackendTimeout(), side="legacy"),
    ]

    async def produce() -> Outcome:
        return replies.pop(0)

    def fetch() -> Outcome:
        outcome, _ = asyncio.run(cache.fetch("k", "r", 10, 5.0, produce, stale_if_error=5))
        return outcome

    fetch()
    clock.now += 11
    assert isinstance(fetch(), Failure)  # a 404 is an answer, not a failure to hide
    stale = fetch()
    assert isinstance(stale, BackendReply) and stale.headers["x-facade-cache"] == "stale"
    clock.now += 5
    assert isinstance(fetch(), Failure)
