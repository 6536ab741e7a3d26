"""Where cached answers live, behind an interface small enough for a shared store later."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from facade.types import RouteName, ServedBy

DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
ENTRY_OVERHEAD = 256
"""Bytes counted per entry on top of its answer and key, so tiny answers still cost."""


@dataclass(frozen=True)
class Entry:
    """One cached answer: the bytes sent as they are, and the side that produced them."""

    route: RouteName
    status: int
    encoded: bytes
    side: ServedBy
    expires: float
    """Monotonic time after which the entry is no longer served."""
    stored: float = 0.0
    """Monotonic time the answer was kept: its age on a hit."""
    etag: str = ""

    def size(self, key: str) -> int:
        return len(self.encoded) + len(key) + ENTRY_OVERHEAD


class CacheStore(Protocol):
    """A store of entries by key; every method is safe to call from any thread."""

    def get(self, key: str) -> Entry | None: ...

    def set(self, key: str, entry: Entry) -> None: ...

    def delete(self, key: str) -> None: ...

    def purge_route(self, route: RouteName) -> int: ...


class MemoryStore:
    """In-process LRU bounded by the bytes it holds, not by the number of entries."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if max_bytes < 1:
            raise ValueError("the cache needs at least one byte")
        self.max_bytes = max_bytes
        self.used = 0
        self.evictions = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def set(self, key: str, entry: Entry) -> None:
        """Store an entry, evicting the least recently used ones to make room; an entry
        larger than the whole store is not kept."""
        if entry.size(key) > self.max_bytes:
            return
        with self._lock:
            self._remove(key)
            self._entries[key] = entry
            self.used += entry.size(key)
            while self.used > self.max_bytes:
                oldest = next(iter(self._entries))
                self._remove(oldest)
                self.evictions += 1

    def delete(self, key: str) -> None:
        with self._lock:
            self._remove(key)

    def purge_route(self, route: RouteName) -> int:
        """Drop every entry of one route; returns how many went."""
        with self._lock:
            keys = [k for k, e in self._entries.items() if e.route == route]
            for key in keys:
                self._remove(key)
            return len(keys)

    def __len__(self) -> int:
        return len(self._entries)

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.used -= entry.size(key)
