"""Request ids, metrics and one JSON log line per request, for every feature to report into.

The middleware gives each request an id (the client's `X-Request-ID` when it is sane, a
new one otherwise), returns it, and after the response records the route, the backend
side and the status that the endpoint left in the ASGI scope's state. Bodies and
credentials are never logged.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facade.context import REQUEST_ID_HEADER
from facade.errors import FacadeError
from facade.resilience.breaker import STATE_VALUES, BreakerState
from facade.responses import problem_response

UNMATCHED = "-"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str] = ContextVar("request_id", default=UNMATCHED)
access_log = logging.getLogger("facade.access")
error_log = logging.getLogger("facade.errors")


MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""Set (to an empty folder) before workers start, prometheus-client keeps each worker's
values in files there, and every worker's /metrics adds up all of them."""


class Metrics:
    """The facade's own prometheus registry: one per app, so tests stay apart.

    With several workers (`facade serve --workers N` sets MULTIPROCESS_DIR_VARIABLE), values
    are shared through files and `exposition()` reports the sum over all workers, whichever
    worker answers the scrape.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "facade_requests",
            "Requests served, by route, backend side and HTTP status.",
            ["route", "side", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "facade_request_duration_seconds",
            "Time from request to response, by route and backend side.",
            ["route", "side", "status"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.fallbacks = Counter(
            "facade_fallbacks",
            "Requests answered by legacy after the new side failed (5xx, timeout, "
            "connection error), by route.",
            ["route"],
            registry=self.registry,
        )
        self.contract_violations = Counter(
            "facade_contract_violations",
            "Answers sent that break the route's documented response schema, by route and side.",
            ["route", "side"],
            registry=self.registry,
        )
        self.shadow_comparisons = Counter(
            "facade_shadow_comparisons",
            "Shadow comparisons by route and result: match, mismatch or error (either side).",
            ["route", "result"],
            registry=self.registry,
        )
        self.cache_results = Counter(
            "facade_cache",
            "Requests to cached routes by route and result: hit, miss, stale, bypass, or "
            "coalesced (answered by another request's backend call).",
            ["route", "result"],
            registry=self.registry,
        )
        self.cache_bytes = Gauge(
            "facade_cache_bytes",
            "Bytes the response cache holds.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.cache_evictions = Counter(
            "facade_cache_evictions",
            "Entries evicted from the response cache to make room.",
            registry=self.registry,
        )
        self._evictions_seen = 0
        self.reloads = Counter(
            "facade_reloads",
            "Configuration reloads by result: ok (swapped in), failed (the previous one "
            "still serves) or unchanged (the files were the ones served).",
            ["result"],
            registry=self.registry,
        )
        self._used_seen = -1
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.shadow_drops = Counter(
            "facade_shadow_drops",
            "Shadow calls dropped because the shadow queue was full, by route.",
            ["route"],
            registry=self.registry,
        )

        self.backend_breaker = Gauge(
            "facade_backend_breaker_state",
            "Circuit breaker of each backend origin: 0 closed, 1 half-open, 2 open.",
            ["origin"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.backend_retries = Counter(
            "facade_backend_retries",
            "Backend calls tried again after a failure where that was safe, by origin.",
            ["origin"],
            registry=self.registry,
        )
        self.backend_refusals = Counter(
            "facade_backend_refusals",
            "Backend calls answered 503 without calling the backend, by origin and reason: "
            "circuit-open, or busy (the origin's concurrency limit and queue were full).",
            ["origin", "reason"],
            registry=self.registry,
        )

    def retried(self, origin: str) -> None:
        self.backend_retries.labels(origin).inc()

    def refused(self, origin: str, reason: str) -> None:
        self.backend_refusals.labels(origin, reason).inc()

    def breaker_changed(self, origin: str, state: BreakerState) -> None:
        self.backend_breaker.labels(origin).set(STATE_VALUES[state])

    def cached(self, route: str, result: str, used: int, evictions: int) -> None:
        """Count one cached-route request by its result, and the store's bytes and evictions
        as they stand after it."""
        self._child(self.cache_results, (route, result)).inc()
        if used != self._used_seen:  # a hit changes nothing: no write to the shared value
            self.cache_bytes.set(used)
            self._used_seen = used
        if evictions > self._evictions_seen:
            self.cache_evictions.inc(evictions - self._evictions_seen)
            self._evictions_seen = evictions

    def answered(self, labels: tuple[str, str, str], seconds: float) -> None:
        """Count one answered request by (route, side, status), with its latency."""
        self._child(self.requests, labels).inc()
        self._child(self.latency, labels).observe(seconds)

    def _child(self, family: Any, labels: tuple[str, ...]) -> Any:
        """The family's child for these label values, looked up once (`labels()` takes a
        lock and validates its arguments on every call)."""
        key = (id(family), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child

    def shadowed(self, route: str, result: str | None) -> None:
        """Count a shadow comparison by its result, or a dropped one (None)."""
        if result is None:
            self.shadow_drops.labels(route).inc()
        else:
            self.shadow_comparisons.labels(route, result).inc()

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's metrics, or every worker's added up."""
        return generate_latest(self._source())

    @property
    def scope(self) -> str:
        """Whose values `exposition()` and `samples()` report."""
        return "all workers" if os.environ.get(MULTIPROCESS_DIR_VARIABLE) else "this worker"

    def samples(self) -> Iterator[tuple[str, dict[str, str], float]]:
        """Every sample (name, labels, value) of the same source a scrape reads."""
        for family in self._source().collect():
            for sample in family.samples:
                yield sample.name, dict(sample.labels), sample.value

    def _source(self) -> CollectorRegistry:
        if not os.environ.get(MULTIPROCESS_DIR_VARIABLE):
            return self.registry
        merged = CollectorRegistry()
        MultiProcessCollector(merged)
        return merged


class RequestIds:
    """Fresh request ids: 32 hex digits, a random half drawn once per process and a counted
    half, so no two requests of any worker share one while a request asks for no system
    call (`os.urandom` is one each time). An id names a request in logs; it is no secret
    (a client may choose its own)."""

    def __init__(self) -> None:
        self._start()
        os.register_at_fork(after_in_child=self._start)  # a forked worker draws its own half

    def _start(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._count = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._count) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


new_request_id = RequestIds()


def request_id_from(header_value: str | None) -> str:
    """The client's id when it is safe to log and forward, else a fresh one."""
    if header_value and _SANE_ID.match(header_value):
        return header_value
    return new_request_id()


class ObservabilityMiddleware:
    """Pure ASGI middleware: request id in and out, metrics and the access log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_for(scope)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        id_header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), id_header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the one place an unforeseen error ends
            report_unexpected(exc)
            if not started_response:  # else the server closes the half-sent response
                await unexpected_response(request_id, scope.get("path", ""))(
                    scope, receive, send_with_id
                )
        finally:
            record(self.metrics, scope, status, time.perf_counter() - started, request_id)
            request_id_var.reset(token)


def request_id_for(scope: Scope) -> str:
    """The request's id: the client's X-Request-ID when sane, else a fresh one."""
    return request_id_from(_header(scope, REQUEST_ID_HEADER.encode()))


def record(metrics: Metrics, scope: Scope, status: int, seconds: float, request_id: str) -> None:
    """Count the request by the route and side its handler left in the scope's state, and
    write its access log line (the fields are built only when the line is written)."""
    state = scope.get("state", {})
    route = state.get("route")
    side = state.get("side", UNMATCHED)
    if route is not None:
        labels = (route, side, str(status))
        metrics.answered(labels, seconds)
    if not access_log.isEnabledFor(logging.INFO):
        return
    access_log.info(
        "request",
        extra={
            "fields": {
                "request_id": request_id,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "route": route or UNMATCHED,
                "side": side,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            }
        },
    )


def report_unexpected(
    exc: BaseException,
    message: str = "unexpected error",
    fields: Mapping[str, Any] | None = None,
    logger: logging.Logger | None = None,
) -> None:
    """One ERROR line with the request id, the exception's type and where it was raised
    (file and line, no message: it may quote a value, a credential or an address); the
    traceback only at DEBUG, for a developer who asks for it."""
    logger = logger or error_log
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else UNMATCHED
    line = {
        **(fields or {}),
        "request_id": request_id_var.get(),
        "error": type(exc).__name__,
        "where": where,
    }
    logger.error(message, extra={"fields": line})
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("%s: traceback", message, exc_info=exc)


def unexpected_response(request_id: str, path: str) -> Response:
    """The 500 problem: a fixed message and the request id that the log line carries."""
    return problem_response(FacadeError(), request_id, path)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, message, request id and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for the facade's loggers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("facade")
    logger.handlers[:] = [handler]
    logger.setLevel(level.upper())
    logger.propagate = False
