"""The cache step of the pipeline: a fresh entry answers, concurrent misses for one key share
one backend call, and only successful answers are kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from facade.backends.base import BackendReply
from facade.cache.store import CacheStore, Entry
from facade.types import RouteName

if TYPE_CHECKING:
    from facade.pipeline import Outcome

Produce = Callable[[], Awaitable["Outcome"]]


class ResponseCache:
    """One per app: the store and the calls in flight, by key."""

    def __init__(self, store: CacheStore, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.clock = clock
        self._inflight: dict[str, asyncio.Future[Outcome]] = {}

    async def fetch(
        self, key: str, route: RouteName, ttl: float, wait: float, produce: Produce
    ) -> tuple[Outcome, bool]:
        """The cached answer for `key`, or the outcome of `produce` (one call for every
        concurrent miss; a waiter gives up after `wait` seconds and calls itself). The flag
        says whether this request's own backend call produced the outcome."""
        entry = self.store.get(key)
        if entry is not None and entry.expires > self.clock():
            return BackendReply(entry.status, entry.encoded, entry.side, elapsed=0.0), False
        running = self._inflight.get(key)
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
            expires = self.clock() + ttl
            self.store.set(
                key, Entry(route, outcome.status, outcome.encoded, outcome.side, expires)
            )
        future.set_result(outcome)
        return outcome


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
