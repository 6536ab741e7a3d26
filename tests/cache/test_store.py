"""The in-process store: bounded in bytes, least recently used out first."""

from __future__ import annotations

import threading

import pytest

from facade.cache.store import ENTRY_OVERHEAD, Entry, MemoryStore
from facade.observability import Metrics


def entry(route: str = "r", size: int = 100) -> Entry:
    return Entry(route, 200, b"x" * size, "legacy", expires=1.0)


def test_get_set_delete() -> None:
    store = MemoryStore(10_000)
    store.set("a", entry())
    assert store.get("a") == entry()
    store.delete("a")
    assert store.get("a") is None
    assert store.used == 0


def test_bounded_in_bytes_evicting_least_recently_used() -> None:
    one = 1000 + 1 + ENTRY_OVERHEAD
    store = MemoryStore(3 * one)
    for key in "abc":
        store.set(key, entry(size=1000))
    store.get("a")  # a is now the most recently used
    store.set("d", entry(size=1000))
    assert store.get("b") is None
    assert all(store.get(k) is not None for k in "acd")
    assert store.used == 3 * one
    assert store.evictions == 1


def test_an_entry_larger_than_the_store_is_not_kept() -> None:
    store = MemoryStore(500)
    store.set("a", entry(size=1000))
    assert store.get("a") is None
    assert store.used == 0


def test_replacing_a_key_counts_its_bytes_once() -> None:
    store = MemoryStore(10_000)
    store.set("a", entry(size=100))
    store.set("a", entry(size=300))
    assert store.used == 300 + 1 + ENTRY_OVERHEAD


def test_purge_route_drops_only_that_route() -> None:
    store = MemoryStore(10_000)
    store.set("a", entry("one"))
    store.set("b", entry("two"))
    store.set("c", entry("one"))
    assert store.purge_route("one") == 2
    assert store.get("b") is not None
    assert len(store) == 1


def test_zero_bytes_refused() -> None:
    with pytest.raises(ValueError, match="at least one byte"):
        MemoryStore(0)


def test_concurrent_writers_keep_the_byte_count_exact() -> None:
    store = MemoryStore(50 * (10 + 4 + ENTRY_OVERHEAD))

    def write(prefix: int) -> None:
        for index in range(500):
            store.set(f"{prefix}{index:03d}", entry(size=10))

    threads = [threading.Thread(target=write, args=(p,)) for p in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.used == len(store) * (10 + 4 + ENTRY_OVERHEAD)
    assert store.used <= store.max_bytes


def test_metrics_take_the_stores_bytes_and_new_evictions() -> None:
    metrics = Metrics()
    metrics.cached("r", "miss", used=500, evictions=3)
    metrics.cached("r", "hit", used=400, evictions=3)
    metrics.cached("r", "miss", used=450, evictions=5)
    samples = {(name, labels.get("result")): v for name, labels, v in metrics.samples()}
    assert samples[("facade_cache_bytes", None)] == 450
    assert samples[("facade_cache_evictions_total", None)] == 5
    assert samples[("facade_cache_total", "miss")] == 2
    assert samples[("facade_cache_total", "hit")] == 1
