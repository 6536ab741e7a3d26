"""How many calls one backend origin gets at once, and how many may wait for a turn.

    limit = CallLimit(4, queue=50, queue_timeout=2.0)   # 4 in flight, 50 waiting, 2 s each
                                                        # (queue_timeout=None: the deadline)
    async with limit.turn(deadline):                    # ServiceUnavailable when it is full
        ...

Legacy systems often take only a few parallel calls; more would queue inside them where
nobody can see it. Here the excess waits in order (FIFO) in a bounded queue, for at most the
queue timeout and never past the call's deadline; beyond the queue or past that wait the
caller gets a 503 with Retry-After at once, and the backend never saw the call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from facade.errors import BackendBusy
from facade.net.seam import Deadline

DEFAULT_QUEUE = 1000
"""Calls that may wait for a turn per origin; more are refused with 503 at once."""
DEFAULT_QUEUE_TIMEOUT: float | None = None
"""By default a call waits for a turn until its own deadline, then it is refused with 503."""


class CallLimit:
    """At most `limit` calls in flight, `queue` more waiting in order, each for at most
    `queue_timeout` seconds and never past its deadline."""

    def __init__(
        self,
        limit: int,
        queue: int = DEFAULT_QUEUE,
        queue_timeout: float | None = DEFAULT_QUEUE_TIMEOUT,
    ) -> None:
        self.limit = limit
        self.queue = queue
        self.queue_timeout = queue_timeout
        self.in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    @asynccontextmanager
    async def turn(self, deadline: Deadline) -> AsyncIterator[None]:
        """Hold one of the limit's places for the block; BackendBusy when none comes."""
        await self.acquire(deadline)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, deadline: Deadline) -> None:
        """Take a place, waiting in line for one; BackendBusy when none comes. Whoever
        takes one calls `release()` once, whatever happens (`turn` does it for a block;
        the transport calls them directly, sparing each call a generator)."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        if len(self._waiters) >= self.queue:
            raise BackendBusy("Too many calls to this backend are waiting")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._wait(deadline)):
                await waiter  # release hands its place over: in_flight stays counted
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the place was handed over just as the caller left
            else:
                waiter.cancel()  # cancelling the task may have cancelled it already, and
                with contextlib.suppress(ValueError):  # release may have dropped it then
                    self._waiters.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise BackendBusy("No turn to call this backend came in time") from None
            raise

    def _wait(self, deadline: Deadline) -> float:
        if self.queue_timeout is None:
            return deadline.remaining()
        return min(self.queue_timeout, deadline.remaining())

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the place passes straight to the next in line
                return
        self.in_flight -= 1
