"""The cache step alone: fresh entries answer, misses for one key share one call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from facade.backends.base import BackendReply
from facade.cache.peers import PurgeLog
from facade.cache.step import MAX_REFRESHES, Freshness, ResponseCache
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
        jobs = [cache.fetch("k", "r", Freshness(60), 5.0, produce) for _ in range(200)]
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
        return await cache.fetch("k", "r", Freshness(10), 5.0, produce)

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

    asyncio.run(cache.fetch("k", "r", Freshness(60), 5.0, produce))
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
        leader = asyncio.create_task(cache.fetch("k", "r", Freshness(60), 5.0, produce))
        await asyncio.sleep(0.01)
        _, called = await cache.fetch("k", "r", Freshness(60), 0.05, produce)
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
        outcome, _ = asyncio.run(
            cache.fetch("k", "r", Freshness(10, stale_if_error=5), 5.0, produce)
        )
        return outcome

    fetch()
    clock.now += 11
    assert isinstance(fetch(), Failure)  # a 404 is an answer, not a failure to hide
    stale = fetch()
    assert isinstance(stale, BackendReply) and stale.headers["x-facade-cache"] == "stale"
    clock.now += 5
    assert isinstance(fetch(), Failure)


def test_a_purge_during_a_call_keeps_its_answer_out_and_later_requests_apart() -> None:
    """A write that lands while a read is in flight: the read's answer may predate the
    write, so it is not stored, and requests after the purge make their own call."""
    cache = ResponseCache(MemoryStore())
    calls = 0

    async def produce() -> Outcome:
        nonlocal calls
        calls += 1
        mine = calls
        await asyncio.sleep(0.1)
        return BackendReply(200, b'{"n":%d}' % mine, "legacy", elapsed=0.01)

    async def scenario() -> tuple[Outcome, Outcome]:
        early = asyncio.create_task(cache.fetch("k", "r", Freshness(60), 5.0, produce))
        await asyncio.sleep(0.02)
        assert cache.purge("r") == 0
        late, called = await cache.fetch("k", "r", Freshness(60), 5.0, produce)
        assert called
        first, _ = await early
        return first, late

    first, late = asyncio.run(scenario())
    assert calls == 2
    assert isinstance(first, BackendReply) and first.encoded == b'{"n":1}'
    assert isinstance(late, BackendReply) and late.encoded == b'{"n":2}'
    stored = cache.store.get("k")
    assert stored is not None and stored.encoded == b'{"n":2}'


def test_purge_by_params_drops_only_matching_entries() -> None:
    cache = ResponseCache(MemoryStore())

    async def produce() -> Outcome:
        return BackendReply(200, b"{}", "legacy", elapsed=0.01)

    async def fill() -> None:
        for ident in ("1", "2"):
            params = frozenset({("id", ident)})
            await cache.fetch(f"k{ident}", "r", Freshness(60), 5.0, produce, params=params)

    asyncio.run(fill())
    assert cache.purge("r", {"id": "1"}) == 1
    assert cache.store.get("k1") is None and cache.store.get("k2") is not None
    assert cache.purge("r") == 1


def swr_cache(clock: Clock, replies: list[Outcome], delay: float = 0.05) -> Any:
    cache = ResponseCache(MemoryStore(), clock)
    calls: list[int] = []

    async def produce() -> Outcome:
        calls.append(1)
        await asyncio.sleep(delay)
        return replies.pop(0)

    return cache, calls, produce


def test_stale_while_revalidate_serves_at_once_with_one_refresh_per_key() -> None:
    clock = Clock()
    replies: list[Outcome] = [
        BackendReply(200, b'{"v":1}', "legacy", elapsed=0.01),
        BackendReply(200, b'{"v":2}', "legacy", elapsed=0.01),
    ]
    cache, calls, produce = swr_cache(clock, replies)
    fresh = Freshness(10, stale_while_revalidate=30)

    async def scenario() -> list[tuple[Outcome, bool]]:
        await cache.fetch("k", "r", fresh, 5.0, produce)
        clock.now += 11
        served = await asyncio.gather(
            *(cache.fetch("k", "r", fresh, 5.0, produce) for _ in range(300))
        )
        await asyncio.gather(*cache._refreshes)
        return served

    served = asyncio.run(scenario())
    assert len(calls) == 2  # the first miss and one refresh
    for outcome, called in served:
        assert not called and isinstance(outcome, BackendReply)
        assert outcome.encoded == b'{"v":1}' and outcome.headers["x-facade-cache"] == "stale"
    stored = cache.store.get("k")
    assert stored is not None and stored.encoded == b'{"v":2}' and stored.expires == 121


def test_a_failed_refresh_keeps_the_stale_entry_until_the_window_ends() -> None:
    clock = Clock()
    replies: list[Outcome] = [
        BackendReply(200, b'{"v":1}', "legacy", elapsed=0.01),
        Failure(BackendTimeout(), side="legacy"),
        Failure(BackendTimeout(), side="legacy"),
        Failure(BackendTimeout(), side="legacy"),
    ]
    cache, calls, produce = swr_cache(clock, replies, delay=0)
    fresh = Freshness(10, stale_while_revalidate=5)

    async def fetch() -> Outcome:
        outcome, _ = await cache.fetch("k", "r", fresh, 5.0, produce)
        await asyncio.gather(*cache._refreshes)
        return outcome

    async def scenario() -> list[Outcome]:
        results = [await fetch()]
        clock.now += 11
        results.append(await fetch())  # stale; its refresh fails
        results.append(await fetch())  # still stale; another refresh fails
        clock.now += 5
        results.append(await fetch())  # past the window: a miss, the failure answers
        return results

    first, stale, again, late = asyncio.run(scenario())
    assert isinstance(stale, BackendReply) and stale.headers["x-facade-cache"] == "stale"
    assert isinstance(again, BackendReply) and again.encoded == b'{"v":1}'
    assert isinstance(late, Failure)
    assert len(calls) == 4 and not replies


def test_refreshes_in_flight_are_bounded() -> None:
    clock = Clock()
    cache = ResponseCache(MemoryStore(), clock)
    release = asyncio.Event()
    calls = 0

    async def produce() -> Outcome:
        nonlocal calls
        calls += 1
        if calls > 2 * MAX_REFRESHES:
            await release.wait()
        return BackendReply(200, b"{}", "legacy", elapsed=0.01)

    fresh = Freshness(10, stale_while_revalidate=30)

    async def scenario() -> int:
        keys = [f"k{i}" for i in range(2 * MAX_REFRESHES)]
        for key in keys:
            await cache.fetch(key, "r", fresh, 5.0, produce)
        clock.now += 11
        for key in keys:
            await cache.fetch(key, "r", fresh, 5.0, produce)
        running = len(cache._refreshes)
        release.set()
        await asyncio.gather(*cache._refreshes)
        return running

    assert asyncio.run(scenario()) == MAX_REFRESHES
    assert calls == 3 * MAX_REFRESHES


def test_a_miss_coalesces_with_a_refresh_in_flight() -> None:
    clock = Clock()
    replies: list[Outcome] = [
        BackendReply(200, b'{"v":1}', "legacy", elapsed=0.01),
        BackendReply(200, b'{"v":2}', "legacy", elapsed=0.01),
    ]
    cache, calls, produce = swr_cache(clock, replies, delay=0.1)

    async def scenario() -> Outcome:
        await cache.fetch("k", "r", Freshness(10, stale_while_revalidate=30), 5.0, produce)
        clock.now += 11
        await cache.fetch("k", "r", Freshness(10, stale_while_revalidate=30), 5.0, produce)
        # a caller whose route allows no staleness waits for the refresh already running
        outcome, called = await cache.fetch("k", "r", Freshness(10), 5.0, produce)
        assert not called
        return outcome

    outcome = asyncio.run(scenario())
    assert isinstance(outcome, BackendReply) and outcome.encoded == b'{"v":2}'
    assert len(calls) == 2


def test_workers_see_each_others_purges_through_the_purge_log(tmp_path: Path) -> None:
    one = ResponseCache(MemoryStore(), peers=PurgeLog.in_folder(tmp_path))
    two = ResponseCache(MemoryStore(), peers=PurgeLog.in_folder(tmp_path))

    async def produce() -> Outcome:
        return BackendReply(200, b"{}", "legacy", elapsed=0.01)

    async def fill(cache: ResponseCache) -> None:
        for ident in ("1", "2"):
            params = frozenset({("id", ident)})
            await cache.fetch(f"k{ident}", "r", Freshness(60), 5.0, produce, params=params)

    for cache in (one, two):
        asyncio.run(fill(cache))
    assert one.purge("r", {"id": "1"}) == 1
    assert two.store.get("k1") is not None  # not yet: two has not served since
    two.apply_peer_purges()
    assert two.store.get("k1") is None and two.store.get("k2") is not None
    assert two.purge("r") == 1
    one.apply_peer_purges()
    assert one.store.get("k2") is None
    with (tmp_path / "cache-purges.jsonl").open("ab") as log:
        log.write(b'{"broken\n')
    one.apply_peer_purges()  # a foreign line purges nothing and breaks nothing
