"""Shadow traffic: after legacy has answered the client, the same request goes to the new
side in the background and the two answers are compared.

    runner = ShadowRunner(records)          # QUEUE_SIZE pending, CONCURRENCY calls at once
    await runner.start()                    # at app startup
    runner.submit(job)                      # never waits: a full queue drops the job
    await runner.aclose()                   # at shutdown: a short drain, then cancel

The client never waits for a shadow: `submit` only appends to a bounded queue, and a
fixed set of workers takes jobs from it. When the new side is slow the queue fills and
further jobs are dropped and counted, instead of piling up in memory or in connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from facade.migration.compare import Answer, Rules, compare, noise, without
from facade.migration.records import Result, ShadowRecords
from facade.observability import report_unexpected
from facade.types import RouteName

log = logging.getLogger("facade.shadow")

QUEUE_SIZE = 1000
"""Shadow jobs waiting per worker process; more are dropped."""
CONCURRENCY = 16
"""Shadow calls in flight per worker process."""
DRAIN_SECONDS = 2.0
"""At shutdown, how long pending shadows may still finish before they are cancelled."""

Call = Callable[[], Awaitable[Answer | None]]
"""One side called again for the same request: its answer, or None when it failed."""
Observer = Callable[[RouteName, Result | None], None]
"""Told of each comparison's result, and of each drop (None), to count them as metrics."""


@dataclass(frozen=True)
class ShadowJob:
    """One request to replay on the new side and compare with what legacy answered."""

    route: RouteName
    request_id: str
    legacy: Answer | None
    """What legacy answered the client; None when it failed."""
    new: Call
    legacy_again: Call | None = None
    """Legacy called once more for a noise baseline (`compare.baseline`), else None."""
    rules: Rules = field(default_factory=Rules)
    redact: tuple[str, ...] = ()


class ShadowRunner:
    """A bounded queue of shadow jobs and the workers that run them."""

    def __init__(
        self,
        records: ShadowRecords,
        observe: Observer | None = None,
        queue_size: int = QUEUE_SIZE,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.records = records
        self.observe = observe or (lambda route, result: None)
        self.queue_size = queue_size
        self.concurrency = concurrency
        self._queue: asyncio.Queue[ShadowJob] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self._running: dict[int, ShadowJob] = {}  # by id(): a job's values may not hash

    async def start(self) -> None:
        """Create the queue and workers on the running loop."""
        queue: asyncio.Queue[ShadowJob] = asyncio.Queue(self.queue_size)
        self._queue = queue
        self._workers = [asyncio.create_task(self._work(queue)) for _ in range(self.concurrency)]

    def submit(self, job: ShadowJob) -> bool:
        """Queue `job` without waiting; False (and a drop counted) when the queue is full
        or the runner is not running."""
        try:
            if self._queue is None:
                raise asyncio.QueueFull
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.records.dropped(job.route)
            self.observe(job.route, None)
            return False
        return True

    async def aclose(self, drain: float = DRAIN_SECONDS) -> int:
        """Let pending jobs finish for up to `drain` seconds, then cancel the rest; those
        are counted as dropped (and logged). Returns how many were dropped."""
        queue, self._queue = self._queue, None
        if queue is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(queue.join(), drain)
        unfinished = list(self._running.values())
        while queue is not None and not queue.empty():
            unfinished.append(queue.get_nowait())
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        for job in unfinished:
            self.records.dropped(job.route)
            self.observe(job.route, None)
        if unfinished:
            fields = {"dropped": len(unfinished), "drain_seconds": drain}
            log.warning("shadow calls dropped at shutdown", extra={"fields": fields})
        return len(unfinished)

    async def _work(self, queue: asyncio.Queue[ShadowJob]) -> None:
        while True:
            job = await queue.get()
            self._running[id(job)] = job
            try:
                await self.run(job)
            except Exception as exc:  # noqa: BLE001 - one bad shadow must not stop the worker
                report_unexpected(exc, "shadow comparison failed", {"route": job.route}, log)
            finally:
                self._running.pop(id(job), None)
                queue.task_done()

    async def run(self, job: ShadowJob) -> Result:
        """Call the new side (and legacy again for a baseline), compare, record."""
        result = await self._compare(job)
        self.observe(job.route, result)
        return result

    async def _compare(self, job: ShadowJob) -> Result:
        if job.legacy is None:
            return self.records.failed(job.route, "legacy")
        if job.legacy.too_large:
            return self.records.skipped(job.route)
        calls = [job.new()] + ([job.legacy_again()] if job.legacy_again else [])
        answers = await asyncio.gather(*calls, return_exceptions=True)
        # a call that raised is a failed side; none is left running unsupervised
        new, *again = [None if isinstance(a, BaseException) else a for a in answers]
        if new is None:
            return self.records.failed(job.route, "new")
        if new.too_large or (again and again[0] is not None and again[0].too_large):
            return self.records.skipped(job.route)
        diffs = compare(job.legacy, new, job.rules)
        if again:
            if again[0] is None:
                return self.records.failed(job.route, "legacy")
            diffs = without(diffs, noise(job.legacy, again[0], job.rules))
        return self.records.compared(job.route, diffs, job.request_id, job.redact)
