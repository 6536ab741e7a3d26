"""Idempotency keys: a client that repeats a write with the same `Idempotency-Key` gets the
first answer, and the backend sees the write once (draft-ietf-httpapi-idempotency-key-header).

    keys = Idempotency(MemoryRecords(ttl=86400, entries=10_000, max_bytes=16 << 20))
    answer, replayed = await keys.run(key, fingerprint, produce, keep, size, wait=5.0)

- The first request with a key runs; its answer is kept for the store's time to live when
  `keep(answer)` says so (the facade keeps 2xx and 4xx, not 5xx: a failure may be retried).
- A repeat with the same fingerprint (method, path, query, body) gets the kept answer.
- A repeat while the first is still running waits for its answer, at most `wait` seconds,
  then gets 409; a repeat with another fingerprint gets 422.

Records sit behind `RecordStore`; the one here is in memory, bounded in entries and bytes.
Requests in flight are known to this process only: with several workers or replicas, a
shared store must also reserve the key when the first request starts.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import orjson
from cachetools import TTLCache

from facade.errors import (
    FieldProblem,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
)

T = TypeVar("T")

KEY_HEADER = "idempotency-key"
DEFAULT_TTL = 24 * 3600.0
"""A key's first answer is replayed for 24 hours."""
DEFAULT_ENTRIES = 10_000
"""Records kept per worker; past this, the oldest go first."""
DEFAULT_BYTES = 16 * 1024 * 1024
"""Bytes of kept answers per worker; past this, the oldest go first."""
RECORD_OVERHEAD = 512
"""Bytes a record costs beyond its answer (key, fingerprint, headers), for the byte bound."""
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
"""1 to 255 visible ASCII characters: what a client's UUID or random token looks like."""


@dataclass(frozen=True)
class Record(Generic[T]):
    """The first answer given for a key, and what the request was."""

    fingerprint: str
    answer: T
    size: int


class RecordStore(Protocol[T]):
    """Where first answers are kept until they expire: in memory now, shared later."""

    def get(self, key: str) -> Record[T] | None: ...

    def put(self, key: str, record: Record[T]) -> None: ...


class MemoryRecords(Generic[T]):
    """Records in this process, expiring after `ttl` seconds, bounded in entries and bytes
    (the oldest go first when either bound is reached)."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        entries: int = DEFAULT_ENTRIES,
        max_bytes: int = DEFAULT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._records: TTLCache[str, Record[T]] = TTLCache(
            maxsize=max_bytes, ttl=ttl, timer=clock, getsizeof=_size
        )

    def __len__(self) -> int:
        return len(self._records)

    @property
    def used(self) -> int:
        return int(self._records.currsize)

    def get(self, key: str) -> Record[T] | None:
        return self._records.get(key)

    def put(self, key: str, record: Record[T]) -> None:
        if record.size > self.max_bytes:
            return  # larger than the whole store: kept nowhere (see README)
        self._records[key] = record
        while len(self._records) > self.entries:
            self._records.popitem()


def _size(record: Record[Any]) -> int:
    return record.size


def scoped_key(route: str, caller: str | None, key: str) -> str:
    """The store's key: the client's key within its route and caller, so two callers (or
    two routes) never share an answer."""
    return hashlib.sha256(orjson.dumps([route, caller, key])).hexdigest()


def fingerprint(method: str, request: Any) -> str:
    """What makes two requests the same request: method and the JSON of path parameters,
    query and body, keys sorted (so `{"a":1,"b":2}` and `{"b":2,"a":1}` match)."""
    encoded = orjson.dumps([method, request], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(encoded).hexdigest()


def check_key(value: str) -> str:
    """The client's key, or InvalidIdempotencyKey naming the header."""
    if not _KEY.match(value):
        problem = FieldProblem(
            f'headers."{KEY_HEADER}"', "must be 1 to 255 visible ASCII characters"
        )
        raise InvalidIdempotencyKey([problem])
    return value


@dataclass
class _Running(Generic[T]):
    fingerprint: str
    done: asyncio.Future[T | None]
    """The first request's answer; None when it ended without one (cancelled, crashed)."""


class Idempotency(Generic[T]):
    """Runs each key's request once; repeats get its answer (see module docstring)."""

    def __init__(self, store: RecordStore[T]) -> None:
        self.store = store
        self._running: dict[str, _Running[T]] = {}

    async def run(
        self,
        key: str,
        print_: str,
        produce: Callable[[], Awaitable[T]],
        keep: Callable[[T], bool],
        size: Callable[[T], int],
        wait: float,
    ) -> tuple[T, bool]:
        """The answer for this key, and whether it is a replay of an earlier one."""
        record = self.store.get(key)
        if record is not None:
            return _same(record.fingerprint, print_, record.answer), True
        running = self._running.get(key)
        if running is not None:
            _same(running.fingerprint, print_, None)
            return await _await_first(running, wait), True
        done: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()
        self._running[key] = _Running(print_, done)
        answer: T | None = None
        try:
            answer = await produce()
            if keep(answer):
                self.store.put(key, Record(print_, answer, size(answer) + RECORD_OVERHEAD))
            return answer, False
        finally:
            del self._running[key]
            done.set_result(answer)


def _same(recorded: str, given: str, answer: T) -> T:
    if recorded != given:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a request with another method, path or body; "
            "use a new key for a new request"
        )
    return answer


async def _await_first(running: _Running[T], wait: float) -> T:
    try:
        async with asyncio.timeout(wait):
            answer = await asyncio.shield(running.done)
    except TimeoutError:
        answer = None
    if answer is None:
        raise IdempotencyKeyInFlight(
            "A request with this Idempotency-Key is still in progress; retry it later"
        )
    return answer
