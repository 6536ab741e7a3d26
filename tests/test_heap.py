"""The serving process's long-lived heap is frozen out of the collector's sweeps, and only
there (facade/heap.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from facade import heap


@pytest.fixture
def unfrozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(heap, "_on", False)
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()  # this test process builds many apps: it must not keep a frozen heap
    gc.set_threshold(*thresholds)


def test_settling_does_nothing_until_a_serving_process_asks(unfrozen: None) -> None:
    thresholds = gc.get_threshold()
    heap.settle()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds


def test_a_serving_process_collects_its_youngest_generation_less_often(unfrozen: None) -> None:
    _, older, oldest = gc.get_threshold()
    heap.keep_settled()
    assert gc.get_threshold() == (heap.YOUNG_GENERATION_THRESHOLD, older, oldest)
    heap.settle()  # a reload keeps it
    assert gc.get_threshold() == (heap.YOUNG_GENERATION_THRESHOLD, older, oldest)


def test_a_serving_process_freezes_what_survives_and_frees_cycles_a_reload_left(
    unfrozen: None,
) -> None:
    heap.keep_settled()
    frozen = gc.get_freeze_count()
    assert frozen > 0

    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle, as zeep's schema objects make

    kept = Node()  # a configuration built by a reload, frozen by the settle after it
    assert _swept(kept)
    heap.settle()
    assert not _swept(kept)  # (the frozen count itself moves with whatever else died)
    alive = weakref.ref(kept)
    del kept  # replaced by the next reload: only a collection can free a cycle
    assert alive() is not None
    heap.settle()
    assert alive() is None


def _swept(thing: object) -> bool:
    """`thing` sits in one of the generations the collector sweeps (frozen, it does not)."""
    return any(found is thing for found in gc.get_objects())
