"""The network seam with resilience around it: every backend call, legacy or new, passes
the origin's circuit breaker and is retried where that is safe, within its deadline and the
origin's retry budget.

    network = ResilientTransport(HttpTransport(), Resilience())
    transport = network.for_route(safe=True)   # a Transport for a route that only reads
    reply = await transport.request("POST", url, body, headers, Deadline.after(5))

What counts against the breaker: no connection, a timeout, a connection that failed
mid-call, and a 5xx reply that is not XML (a proxy's page, an empty 503, a JSON 500). A
5xx in XML is a SOAP fault: the backend is up and answered, so it counts as a success, as
does an oversized reply. A refusal by the concurrency limit and a cancelled call do not
count either way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from facade.errors import (
    BackendBusy,
    BackendCircuitOpen,
    BackendError,
    BackendReplyTooLarge,
    BackendUnreachable,
)
from facade.net.seam import DEFAULT_MAX_REPLY_BYTES, Deadline, Reply, Transport, origin
from facade.resilience.breaker import (
    DEFAULT_COOL_DOWN,
    DEFAULT_THRESHOLD,
    BreakerState,
    CircuitBreaker,
)
from facade.resilience.retry import (
    DEFAULT_BUDGET_MINIMUM,
    DEFAULT_BUDGET_RATIO,
    MIN_ATTEMPT_SECONDS,
    RETRY_STATUSES,
    RetryBudget,
    RetryPolicy,
    retryable,
)

log = logging.getLogger("facade.resilience")

PROBE_SECONDS = 2.0
"""How long the startup check of an origin waits for a TCP connection."""
XML_TYPES = ("text/xml", "application/soap+xml", "application/xml")


class Observer(Protocol):
    """Told of retries, refusals and breaker changes, to count them as metrics."""

    def retried(self, origin: str) -> None: ...

    def refused(self, origin: str, reason: str) -> None: ...

    def breaker_changed(self, origin: str, state: BreakerState) -> None: ...


class _Silent:
    def retried(self, origin: str) -> None:
        return None

    def refused(self, origin: str, reason: str) -> None:
        return None

    def breaker_changed(self, origin: str, state: BreakerState) -> None:
        return None


@dataclass(frozen=True)
class Resilience:
    """The process's resilience settings (FACADE_BREAKER_*, FACADE_RETRY_*)."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    budget_ratio: float = DEFAULT_BUDGET_RATIO
    budget_minimum: int = DEFAULT_BUDGET_MINIMUM
    breaker: bool = True
    """On by default; off, no call is ever refused for the backend's past failures."""
    threshold: int = DEFAULT_THRESHOLD
    cool_down: float = DEFAULT_COOL_DOWN


@dataclass
class OriginHealth:
    """One backend origin's breaker and retry budget, and whether it was last reachable."""

    breaker: CircuitBreaker
    budget: RetryBudget
    reachable: bool | None = None
    """False after a failed connection (or startup check), True after any answer; None
    until the origin was tried."""


def failing(reply: Reply) -> bool:
    """A reply that says the backend is down: a 5xx that is not XML (see module doc)."""
    if reply.status < 500:
        return False
    kind = reply.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind not in XML_TYPES


class ResilientTransport:
    """Shared per-origin health around one transport; `for_route` gives each route its view."""

    def __init__(
        self,
        inner: Transport,
        settings: Resilience | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.inner = inner
        self.settings = settings or Resilience()
        self.observer: Observer = observer or _Silent()
        self.origins: dict[str, OriginHealth] = {}

    def for_route(self, safe: bool) -> RouteTransport:
        """The transport a route's backends call: `safe` routes are retried after any
        connection failure, others only when nothing was sent."""
        return RouteTransport(self, safe)

    def health(self, url: str) -> OriginHealth:
        key = origin(url)
        known = self.origins.get(key)
        if known is None:
            settings = self.settings

            def changed(state: BreakerState) -> None:
                self._changed(key, state)

            breaker = CircuitBreaker(settings.threshold, settings.cool_down, changed)
            budget = RetryBudget(settings.budget_ratio, settings.budget_minimum)
            known = self.origins[key] = OriginHealth(breaker, budget)
            self.observer.breaker_changed(key, "closed")
        return known

    async def check(self, urls: list[str], timeout: float = PROBE_SECONDS) -> None:
        """At startup: try a TCP connection to each origin, so /readyz can name the routes
        whose backend is down before any client finds out. Nothing is sent."""
        unique = {origin(url): url for url in urls}
        await asyncio.gather(*(self._check(key, timeout) for key in unique))

    async def _check(self, key: str, timeout: float) -> None:
        host, _, port = key.split("://", 1)[1].rpartition(":")
        health = self.health(key)
        try:
            async with asyncio.timeout(timeout):
                _, writer = await asyncio.open_connection(host.strip("[]"), int(port))
            writer.close()
            await writer.wait_closed()
        except (OSError, TimeoutError):
            if health.reachable is None:
                health.reachable = False
                log.warning("backend unreachable at start", extra={"fields": {"origin": key}})
            return
        if health.reachable is None:
            health.reachable = True

    async def request(
        self,
        safe: bool,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        deadline: Deadline,
        max_bytes: int,
    ) -> Reply:
        key = origin(url)
        health = self.health(key)
        health.budget.called()
        retry = 0
        while True:
            started = time.monotonic()
            try:
                reply = await self._attempt(
                    key, health, method, url, content, headers, deadline, max_bytes
                )
            except BackendError as exc:
                if not retryable(exc, safe) or not self._again(
                    key, health, retry, started, deadline
                ):
                    raise
            else:
                if not (safe and reply.status in RETRY_STATUSES) or not self._again(
                    key, health, retry, started, deadline
                ):
                    return reply
            retry += 1
            await asyncio.sleep(self.settings.retry.backoff(retry))

    async def _attempt(
        self,
        key: str,
        health: OriginHealth,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        deadline: Deadline,
        max_bytes: int,
    ) -> Reply:
        """One call through the breaker; its verdict recorded."""
        breaker = health.breaker if self.settings.breaker else _NO_BREAKER
        probe = self._admit(key, breaker)
        try:
            reply = await self.inner.request(
                method, url, content, headers, deadline, max_bytes=max_bytes
            )
        except BackendBusy:
            breaker.abandoned(probe)
            self.observer.refused(key, "busy")
            raise
        except BackendReplyTooLarge:  # an answer, if a useless one: the backend is up
            health.reachable = True
            breaker.succeeded()
            raise
        except BackendError as exc:
            if isinstance(exc, BackendUnreachable):
                health.reachable = False
            breaker.failed()
            raise
        except BaseException:
            breaker.abandoned(probe)
            raise
        health.reachable = True
        if failing(reply):
            breaker.failed()
        else:
            breaker.succeeded()
        return reply

    def _admit(self, key: str, breaker: CircuitBreaker | _NoBreaker) -> bool:
        try:
            return breaker.admit()
        except BackendCircuitOpen:
            self.observer.refused(key, "circuit-open")
            raise

    def _again(
        self, key: str, health: OriginHealth, retry: int, started: float, deadline: Deadline
    ) -> bool:
        """Whether one more attempt may start: attempts left, the breaker not open, the
        deadline long enough for the wait and another attempt like the last, the budget."""
        if retry + 1 >= self.settings.retry.attempts:
            return False
        if self.settings.breaker and health.breaker.state == "open":
            return False
        took = max(MIN_ATTEMPT_SECONDS, time.monotonic() - started)
        ceiling = min(self.settings.retry.cap, self.settings.retry.base * 2**retry)
        if deadline.remaining() < ceiling + took:
            return False
        if not health.budget.may_retry():
            return False
        self.observer.retried(key)
        return True

    def _changed(self, key: str, state: BreakerState) -> None:
        self.observer.breaker_changed(key, state)
        level = logging.INFO if state == "closed" else logging.WARNING
        log.log(level, "backend breaker %s", state, extra={"fields": {"origin": key}})

    async def aclose(self) -> None:
        await self.inner.aclose()


class _NoBreaker:
    """The breaker when FACADE_BREAKER=off: admits every call and records nothing."""

    def admit(self) -> bool:
        return False

    def succeeded(self) -> None:
        return None

    def failed(self) -> None:
        return None

    def abandoned(self, probe: bool) -> None:
        return None


_NO_BREAKER = _NoBreaker()


@dataclass(frozen=True)
class RouteTransport:
    """A Transport for one route: the shared origins' health, with the route's safety."""

    shared: ResilientTransport
    safe: bool

    async def request(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        deadline: Deadline,
        *,
        max_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> Reply:
        return await self.shared.request(
            self.safe, method, url, content, headers, deadline, max_bytes
        )

    async def aclose(self) -> None:
        """The shared transport is closed by its owner, once."""
