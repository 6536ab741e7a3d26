"""Fair turns on the event loop, so a burst of requests cannot starve the others.

One worker runs every request on one event loop, and asyncio resumes ready tasks in FIFO
order. When 2,000 requests arrive at once, each with a millisecond of CPU work (routing,
validation, building the envelope, translating the reply), a request that arrives next,
`/healthz` included, waits behind all of them: seconds. A `Pacer` lets at most `width`
tasks resume per round at the points where the heavy work starts; the rest wait parked,
off the ready queue, so whatever arrives meanwhile is served within a few rounds.

    pacer = Pacer(width=8)
    await pacer.turn()     # then do the CPU work, with no await in between
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

LOOP_WORK_BYTES = 64 * 1024
"""The most JSON or XML one request may have worked on the event loop (about 15 ms);
larger replies are translated elsewhere, and larger answers are not checked or compared
there."""

DEFAULT_WIDTH = 8
"""Tasks resumed per round: 8 stretches of about a millisecond keep a newcomer's wait
near 10 ms, and a wider round does not add throughput on one core."""


class Pacer:
    """At most `width` tasks pass `turn()` per round of the event loop."""

    def __init__(self, width: int = DEFAULT_WIDTH) -> None:
        self._slots = asyncio.Semaphore(width)

    async def turn(self) -> None:
        """Wait for a slot, give the loop one round, and go on."""
        async with self._slots:
            await asyncio.sleep(0)


class PacingMiddleware:
    """Paces every request except the facade's own (health, readiness, metrics), which
    must answer at once however busy the worker is."""

    def __init__(
        self, app: ASGIApp, pacer: Pacer, exempt: Iterable[str], exempt_prefix: str | None = None
    ) -> None:
        self.app = app
        self.pacer = pacer
        self.exempt = frozenset(exempt)
        self.exempt_prefix = exempt_prefix
        """Everything under it skips the pacing too: the admin API, so that an operator
        moving a route back during an incident does not queue behind the burst it caused."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._exempt(scope["path"]):
            await self.pacer.turn()
        await self.app(scope, receive, send)

    def _exempt(self, path: str) -> bool:
        prefix = self.exempt_prefix
        return path in self.exempt or (prefix is not None and path.startswith(prefix))
