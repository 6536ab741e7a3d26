"""The cache step of the pipeline: a fresh entry answers, concurrent misses for one key share
one backend call, only successful answers are kept, and a purge reaches what is stored and
what is in flight."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from facade.backends.base import BackendReply
from facade.cache.http import CACHE_HEADER, etag, hit_headers
from facade.cache.store import CacheStore, Entry, Params
from facade.types import RouteName

if TYPE_CHECKING:
    from facade.cache.peers import PurgeLog
    from facade.pipeline import Outcome

log = logging.getLogger("facade.cache")

Produce = Callable[[], Awaitable["Outcome"]]
Observe = Callable[[RouteName, str], None]
"""Told each cached-route request's result: hit, miss, stale, bypass or coalesced."""

MAX_REFRESHES = 64
"""Background refreshes (stale-while-revalidate) running at once per app; a stale entry
served while the limit is full is refreshed by a later request."""


def _unobserved(route: RouteName, result: str) -> None:
    """No metrics: a cache built without an observer."""


@dataclass(frozen=True)
class Freshness:
    """How long a route's entries answer: fresh for `ttl`, then stale for a while."""

    ttl: float
    stale_if_error: float = 0.0
    """Past the ttl, served when the backend fails."""
    stale_while_revalidate: float = 0.0
    """Past the ttl, served at once while one background call refreshes the entry."""


@dataclass
class _Flight:
    """A backend call in flight for one key, and the route's purge count when it began:
    a purge since then means its answer may predate a write, so it is neither kept nor
    shared with requests that come after the purge."""

    route: RouteName
    generation: int
    future: asyncio.Future[Outcome]


class ResponseCache:
    """One per app: the store, the calls in flight by key, the background refreshes."""

    def __init__(
        self,
        store: CacheStore,
        clock: Callable[[], float] = time.monotonic,
        observe: Observe | None = None,
        peers: PurgeLog | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.observe = observe or _unobserved
        self.peers = peers
        self._inflight: dict[str, _Flight] = {}
        self._generations: dict[RouteName, int] = {}
        self._refreshes: set[asyncio.Task[None]] = set()

    def purge(self, route: RouteName, params: Mapping[str, str] | None = None) -> int:
        """Drop the route's entries (those whose parameters have these values, when given)
        in this process and, through the purge log, in every worker; calls in flight for
        the route are not kept. Returns how many entries went here."""
        pairs: Params = frozenset((params or {}).items())
        if self.peers is not None:
            for earlier, earlier_pairs in self.peers.publish(route, pairs):
                self._purge_here(earlier, earlier_pairs)
        return self._purge_here(route, pairs)

    def apply_peer_purges(self) -> None:
        """Purges other workers published since the last look (a stat when there are none)."""
        if self.peers is None:
            return
        for route, pairs in self.peers.unseen():
            self._purge_here(route, pairs)

    def _purge_here(self, route: RouteName, pairs: Params) -> int:
        self._generations[route] = self._generations.get(route, 0) + 1
        return self.store.purge(route, pairs)

    def fresh(self, key: str, route: RouteName) -> BackendReply | None:
        """The fresh entry under `key` as a hit, counted; None when there is none (the
        request then takes the whole way, through `fetch`)."""
        self.apply_peer_purges()
        entry = self.store.get(key)
        if entry is None:
            return None
        now = self.clock()
        if entry.expires <= now:
            return None
        self.observe(route, "hit")
        return _hit(entry, now)

    async def fetch(
        self,
        key: str,
        route: RouteName,
        freshness: Freshness,
        wait: float,
        produce: Produce,
        bypass: bool = False,
        params: Params = frozenset(),
    ) -> tuple[Outcome, bool]:
        """The cached answer for `key`, or the outcome of `produce` (one call for every
        concurrent miss; a waiter gives up after `wait` seconds and calls itself). The flag
        says whether this request's own backend call produced the outcome. A bypass skips
        the entry and the shared call, and keeps its fresh answer."""
        self.apply_peer_purges()
        entry = self.store.get(key)
        now = self.clock()
        if entry is not None and not bypass:
            if entry.expires > now:
                self.observe(route, "hit")
                return _hit(entry, now), False
            if now < entry.expires + freshness.stale_while_revalidate:
                self._refresh(key, route, freshness.ttl, produce, params)
                self.observe(route, "stale")
                return _stale(entry, now), False
        outcome, called = await self._miss(key, route, freshness.ttl, wait, produce, bypass, params)
        grace = freshness.stale_if_error
        if entry is not None and _may_serve_stale(outcome, entry, self.clock(), grace):
            self.observe(route, "stale")
            return _stale(entry, self.clock()), called
        status = "bypass" if bypass else "miss"
        self.observe(route, status if called else "coalesced")
        return _labelled(outcome, status), called

    async def aclose(self) -> None:
        """Cancel the background refreshes still running (at shutdown)."""
        for task in list(self._refreshes):
            task.cancel()
        await asyncio.gather(*self._refreshes, return_exceptions=True)

    def _refresh(
        self, key: str, route: RouteName, ttl: float, produce: Produce, params: Params
    ) -> None:
        """One background call refreshing `key`, unless one (or a miss) is in flight for it
        or the limit of refreshes is reached; its failure keeps the stale entry."""
        if key in self._inflight or len(self._refreshes) >= MAX_REFRESHES:
            return
        flight = self._begin(key, route)

        async def run() -> None:
            try:
                await self._finish(key, flight, ttl, produce, params)
            except Exception:  # a refresh has no client to tell; the stale entry stays
                log.exception("cache refresh failed", extra={"fields": {"route": route}})

        task = asyncio.get_running_loop().create_task(run())
        self._refreshes.add(task)
        task.add_done_callback(self._refreshes.discard)

    async def _miss(
        self,
        key: str,
        route: RouteName,
        ttl: float,
        wait: float,
        produce: Produce,
        bypass: bool,
        params: Params,
    ) -> tuple[Outcome, bool]:
        """The shared call in flight for `key` (unless bypassing, or it began before a purge
        of the route), or a call of our own."""
        running = None if bypass else self._inflight.get(key)
        if running is not None and running.generation == self._generations.get(route, 0):
            shared = await _shared(running.future, wait)
            if shared is not None:
                return shared, False
        flight = self._begin(key, route)
        return await self._finish(key, flight, ttl, produce, params), True

    def _begin(self, key: str, route: RouteName) -> _Flight:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        flight = _Flight(route, self._generations.get(route, 0), future)
        self._inflight[key] = flight
        return flight

    async def _finish(
        self, key: str, flight: _Flight, ttl: float, produce: Produce, params: Params
    ) -> Outcome:
        """Run the call, keep a cacheable answer (unless the route was purged meanwhile),
        and hand the outcome to the waiters."""
        try:
            outcome = await produce()
        except BaseException:
            flight.future.cancel()  # waiters make their own call
            raise
        finally:
            if self._inflight.get(key) is flight:
                del self._inflight[key]
        if _cacheable(outcome):
            assert isinstance(outcome, BackendReply)  # noqa: S101 - checked just above
            now, tag = self.clock(), etag(outcome.encoded)
            outcome = replace(outcome, headers={**outcome.headers, "etag": tag})
            if flight.generation == self._generations.get(flight.route, 0):
                entry = Entry(
                    flight.route,
                    outcome.status,
                    outcome.encoded,
                    outcome.side,
                    now + ttl,
                    now,
                    tag,
                    params,
                )
                self.store.put(key, entry)
        flight.future.set_result(outcome)
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
