"""Where cached answers live, behind an interface small enough for a shared store later:
get, put, purge and index, nothing else."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from facade.types import RouteName, ServedBy

K = TypeVar("K")
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
ENTRY_OVERHEAD = 256
"""Bytes counted per entry on top of its answer and key, so tiny answers still cost."""

Params = frozenset[tuple[str, str]]
"""(name, value) pairs of an entry's path and query parameters; a query parameter given
several times has one pair per value."""


def entry_params(*sources: Mapping[str, str | list[str]]) -> Params:
    """The (name, value) pairs of a request's path and query parameters."""
    pairs: set[tuple[str, str]] = set()
    for source in sources:
        for name, value in source.items():
            values = value if isinstance(value, list) else [value]
            pairs.update((name, str(v)) for v in values)
    return frozenset(pairs)


def spelled(value: object) -> str | None:
    """A JSON value as a path or query parameter spells it (`42`, `true`, `abc`), or None
    when it has no single spelling (null, a list, an object)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str | int | float):
        return str(value)
    return None


@dataclass(frozen=True)
class Entry:
    """One cached answer: the bytes sent as they are, and the side that produced them."""

    route: RouteName
    status: int
    encoded: bytes
    side: ServedBy
    expires: float
    """Monotonic time after which the entry is no longer fresh."""
    stored: float = 0.0
    """Monotonic time the answer was kept: its age on a hit."""
    etag: str = ""
    params: Params = frozenset()
    """The request's path and query parameter values, so a write can purge by them."""

    def size(self, key: str) -> int:
        return len(self.encoded) + len(key) + ENTRY_OVERHEAD


class CacheStore(Protocol):
    """A store of entries by key, findable by route and parameter values; every method is
    safe to call from any thread. A shared store for several replicas implements the same."""

    def get(self, key: str) -> Entry | None:
        """The entry under `key`, fresh or not; None when there is none."""

    def put(self, key: str, entry: Entry) -> None:
        """Keep `entry` under `key`, replacing what was there."""

    def index(self, route: RouteName, params: Params = frozenset()) -> frozenset[str]:
        """The keys of `route`'s entries whose parameters hold every pair of `params`."""

    def purge(self, route: RouteName, params: Params = frozenset()) -> int:
        """Drop the entries `index` names; returns how many went."""


class MemoryStore:
    """In-process LRU bounded by the bytes it holds, not by the number of entries, with an
    index by route and by (route, parameter, value) kept under the same lock."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError("the cache needs at least one byte")
        self.max_bytes = max_bytes
        self.used = 0
        self.evictions = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._by_route: dict[RouteName, set[str]] = {}
        self._by_param: dict[tuple[RouteName, str, str], set[str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: Entry) -> None:
        """Store an entry, evicting the least recently used ones to make room; an entry
        larger than the whole store is not kept."""
        if entry.size(key) > self.max_bytes:
            return
        with self._lock:
            self._remove(key)
            self._entries[key] = entry
            self.used += entry.size(key)
            self._by_route.setdefault(entry.route, set()).add(key)
            for name, value in entry.params:
                self._by_param.setdefault((entry.route, name, value), set()).add(key)
            while self.used > self.max_bytes:
                oldest = next(iter(self._entries))
                self._remove(oldest)
                self.evictions += 1

    def index(self, route: RouteName, params: Params = frozenset()) -> frozenset[str]:
        with self._lock:
            return frozenset(self._matching(route, params))

    def purge(self, route: RouteName, params: Params = frozenset()) -> int:
        with self._lock:
            keys = self._matching(route, params)
            for key in keys:
                self._remove(key)
            return len(keys)

    def __len__(self) -> int:
        return len(self._entries)

    def _matching(self, route: RouteName, params: Iterable[tuple[str, str]]) -> set[str]:
        """Keys of the route holding every pair (the smallest set first); under the lock."""
        found = set(self._by_route.get(route, ()))
        for name, value in sorted(params, key=lambda p: len(self._by_param.get((route, *p), ()))):
            found &= self._by_param.get((route, name, value), set())
            if not found:
                break
        return found

    def _remove(self, key: str) -> None:
        """Drop one entry with its index lines; under the lock."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        self.used -= entry.size(key)
        _discard(self._by_route, entry.route, key)
        for name, value in entry.params:
            _discard(self._by_param, (entry.route, name, value), key)


def _discard(index: dict[K, set[str]], where: K, key: str) -> None:
    """Remove `key` from one index line, and the line once it is empty."""
    keys = index.get(where)
    if keys is None:
        return
    keys.discard(key)
    if not keys:
        del index[where]
