"""The cache step of the pipeline: a fresh entry answers, concurrent misses for one key share
one backend call, and only successful answers are kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from facade.backends.base import BackendReply
from facade.cache.http import CACHE_HEADER, etag, hit_headers
from facade.cache.store import CacheStore, Entry
from facade.types import RouteName

if TYPE_CHECKING:
    from facade.pipeline import Outcome

Produce = Callable[[], Awaitable["Outcome"]]
Observe = Callable[[RouteName, str], None]
"""Told each cached-route request's result: hit, miss, stale, bypass or coalesced."""


def _unobserved(route: RouteName, result: str) -> None:
    """No metrics: a cache built without an observer."""


class ResponseCache:
    """One per app: the store and the calls in flight, by key."""

    def __init__(
        self,
        store: CacheStore,
        clock: Callable[[], float] = time.monotonic,
        observe: Observe | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.observe = observe or _unobserved
        self._inflight: dict[str, asyncio.Future[Outcome]] = {}

    def purge(self, route: RouteName) -> int:
        """Drop the route's entries: after a flip, answers of the old side must not be served."""
        return self.store.purge_route(route)

    async def fetch(
        self,
        key: str,
        route: RouteName,
        ttl: float,
        wait: float,
        produce: Produce,
        bypass: bool = False,
        stale_if_error: float = 0.0,
    ) -> tuple[Outcome, bool]:
        """The cached answer for `key`, or the outcome of `produce` (one call for every
        concurrent miss; a waiter gives up after `wait` seconds and calls itself). The flag
        says whether this request's own backend call produced the outcome. A bypass skips
        the entry and the shared call, and keeps its fresh answer."""
        entry = self.store.get(key)
        now = self.clock()
        if entry is not None and entry.expires > now and not bypass:
            self.observe(route, "hit")
            return _hit(entry, now), False
        outcome, called = await self._miss(key, route, ttl, wait, produce, bypass)
        if entry is not None and _may_serve_stale(outcome, entry, self.clock(), stale_if_error):
            self.observe(route, "stale")
            return _stale(entry, self.clock()), called
        status = "bypass" if bypass else "miss"
        self.observe(route, status if called else "coalesced")
        return _labelled(outcome, status), called

    async def _miss(
        self, key: str, route: RouteName, ttl: float, wait: float, produce: Produce, bypass: bool
    ) -> tuple[Outcome, bool]:
        """The shared call in flight for `key` (unless bypassing), or a call of our own."""
        running = None if bypass else self._inflight.get(key)
        if running is not None:
            shared = await _shared(running, wait)
            if shared is not None:
                return shared, False
        return await self._lead(key, route, ttl, produce), True

    async def _lead(self, key: str, route: RouteName, ttl: float, produce: Produce) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            outcome = await produce()
        except BaseException:
            future.cancel()  # waiters make their own call
            raise
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]
        if _cacheable(outcome):
            assert isinstance(outcome, BackendReply)  # noqa: S101 - checked just above
            now, tag = self.clock(), etag(outcome.encoded)
            outcome = replace(outcome, headers={**outcome.headers, "etag": tag})
            entry = Entry(route, outcome.status, outcome.encoded, outcome.side, now + ttl, now, tag)
            self.store.set(key, entry)
        future.set_result(outcome)
        return outcome


def _hit(entry: Entry, now: float) -> BackendReply:
    """The entry as the answer, with its age and the seconds it stays fresh."""
    headers = hit_headers(entry.etag, now - entry.stored, entry.expires - now)
    return BackendReply(entry.status, entry.encoded, entry.side, elapsed=0.0, headers=headers)


def _may_serve_stale(outcome: Outcome, entry: Entry, now: float, grace: float) -> bool:
    """The backend failed (5xx, timeout, unreachable) and the expired entry is still within
    the route's `stale_if_error` seconds past its ttl."""
    if isinstance(outcome, BackendReply) or outcome.error.status < 500:
        return False
    return now < entry.expires + grace


def _stale(entry: Entry, now: float) -> BackendReply:
    """The expired entry as the answer, marked stale."""
    headers = {
        CACHE_HEADER: "stale",
        "etag": entry.etag,
        "age": str(max(0, int(now - entry.stored))),
    }
    return BackendReply(entry.status, entry.encoded, entry.side, elapsed=0.0, headers=headers)


def _labelled(outcome: Outcome, status: str) -> Outcome:
    """A kept answer (it has its ETag) with its X-Facade-Cache status; others as they are."""
    if not isinstance(outcome, BackendReply) or "etag" not in outcome.headers:
        return outcome
    return replace(outcome, headers={**outcome.headers, CACHE_HEADER: status})


async def _shared(running: asyncio.Future[Outcome], wait: float) -> Outcome | None:
    """The leader's outcome, or None when it failed to come within `wait` seconds."""
    try:
        return await asyncio.wait_for(asyncio.shield(running), timeout=wait)
    except TimeoutError:
        return None
    except asyncio.CancelledError:
        if running.cancelled():
            return None
        raise


def _cacheable(outcome: Outcome) -> bool:
    """Successful answers only; an answer that breaks the contract is not kept."""
    return (
        isinstance(outcome, BackendReply)
        and 200 <= outcome.status < 300
        and not outcome.violations
        and outcome.side in ("legacy", "new")
    )
