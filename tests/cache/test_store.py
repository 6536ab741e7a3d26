"""The in-process store: bounded in bytes, least recently used out first."""

from __future__ import annotations

import threading

import pytest

from facade.cache.store import ENTRY_OVERHEAD, Entry, MemoryStore, entry_params
from facade.observability import Metrics


def entry(route: str = "r", size: int = 100) -> Entry:
    return Entry(route, 200, b"x" * size, "legacy", expires=1.0)


def test_get_put_purge() -> None:
    store = MemoryStore(10_000)
    store.put("a", entry())
    assert store.get("a") == entry()
    assert store.purge("r") == 1
    assert store.get("a") is None
    assert store.used == 0


def test_bounded_in_bytes_evicting_least_recently_used() -> None:
    one = 1000 + 1 + ENTRY_OVERHEAD
    store = MemoryStore(3 * one)
    for key in "abc":
        store.put(key, entry(size=1000))
    store.get("a")  # a is now the most recently used
    store.put("d", entry(size=1000))
    assert store.get("b") is None
    assert all(store.get(k) is not None for k in "acd")
    assert store.used == 3 * one
    assert store.evictions == 1


def test_an_entry_larger_than_the_store_is_not_kept() -> None:
    store = MemoryStore(500)
    store.put("a", entry(size=1000))
    assert store.get("a") is None
    assert store.used == 0


def test_replacing_a_key_counts_its_bytes_once() -> None:
    store = MemoryStore(10_000)
    store.put("a", entry(size=100))
    store.put("a", entry(size=300))
    assert store.used == 300 + 1 + ENTRY_OVERHEAD


def test_purge_route_drops_only_that_route() -> None:
    store = MemoryStore(10_000)
    store.put("a", entry("one"))
    store.put("b", entry("two"))
    store.put("c", entry("one"))
    assert store.purge("one") == 2
    assert store.get("b") is not None
    assert len(store) == 1


def with_params(route: str, **params: str | list[str]) -> Entry:
    return Entry(route, 200, b"{}", "legacy", 1.0, params=entry_params(params))


def test_the_index_finds_entries_by_route_and_parameter_values() -> None:
    store = MemoryStore(100_000)
    store.put("a", with_params("one", id="1", lang="en"))
    store.put("b", with_params("one", id="1", lang="fr"))
    store.put("c", with_params("one", id="2", lang="en"))
    store.put("d", with_params("two", id="1"))
    store.put("e", with_params("one", id="3", tag=["x", "y"]))
    assert store.index("one") == {"a", "b", "c", "e"}
    assert store.index("one", frozenset({("id", "1")})) == {"a", "b"}
    assert store.index("one", frozenset({("id", "1"), ("lang", "fr")})) == {"b"}
    assert store.index("one", frozenset({("tag", "y")})) == {"e"}
    assert store.index("one", frozenset({("id", "9")})) == frozenset()
    assert store.index("three") == frozenset()
    assert store.purge("one", frozenset({("id", "1")})) == 2
    assert store.index("one") == {"c", "e"}
    assert store.get("d") is not None


def test_the_index_forgets_evicted_and_replaced_entries() -> None:
    one = with_params("r", id="1").size("a")
    store = MemoryStore(2 * one)
    store.put("a", with_params("r", id="1"))
    store.put("b", with_params("r", id="2"))
    store.put("c", with_params("r", id="3"))  # evicts a
    assert store.index("r") == {"b", "c"}
    assert store.index("r", frozenset({("id", "1")})) == frozenset()
    store.put("b", with_params("r", id="4"))  # the same key, other values
    assert store.index("r", frozenset({("id", "2")})) == frozenset()
    assert store.index("r", frozenset({("id", "4")})) == {"b"}
    store.purge("r")
    assert (store.used, len(store), store._by_route, store._by_param) == (0, 0, {}, {})


def test_the_index_stays_consistent_under_concurrent_puts_and_purges() -> None:
    store = MemoryStore(300 * with_params("r", id="00").size("0-000"))

    def write(prefix: int) -> None:
        for index in range(400):
            store.put(f"{prefix}-{index:03d}", with_params("r", id=str(index % 7)))
            if index % 50 == 0:
                store.purge("r", frozenset({("id", str(prefix % 7))}))

    threads = [threading.Thread(target=write, args=(p,)) for p in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    keys = set(store._entries)
    assert store.index("r") == keys
    indexed = set().union(*store._by_param.values()) if store._by_param else set()
    assert indexed == keys
    for (_, _, value), found in store._by_param.items():
        assert all(("id", value) in store._entries[k].params for k in found)


def test_zero_bytes_refused() -> None:
    with pytest.raises(ValueError, match="at least one byte"):
        MemoryStore(0)


def test_concurrent_writers_keep_the_byte_count_exact() -> None:
    store = MemoryStore(50 * (10 + 4 + ENTRY_OVERHEAD))

    def write(prefix: int) -> None:
        for index in range(500):
            store.put(f"{prefix}{index:03d}", entry(size=10))

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
