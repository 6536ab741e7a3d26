"""The long-lived heap (WSDLs, zeep's schema objects, compiled routes) kept out of the
garbage collector's sweeps.

A loaded configuration is hundreds of thousands of objects that live as long as it is
served. Left in the collected generations, every full collection walks all of them while
the event loop waits: tens of milliseconds that land on whichever request is in flight
(the p99 of a one-connection run went from 20 ms to 4 ms). Frozen, a collection walks only
what requests made.

The youngest generation is also collected less often there. Under load a worker holds the
objects of every request in flight (64 connections: some 2,500 coroutines, frames, futures
and headers), and each young collection walks them all only to find them alive; at
Python's default of 700 allocations that was a collection every 15 misses, 15 to 20 us of
each miss's CPU. At 7,000 it comes about once per thousand misses, a few milliseconds
each, and the request path's cycles (few: a miss leaves none of its own) wait that long.

Only a serving process does this (`facade serve` and its workers turn it on): a process
that builds many apps, such as a test run, would pay a full collection for each.

    heap.keep_settled()   # once the app is built, in the serving process
    heap.settle()         # after each reload; nothing unless turned on
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 7_000
"""Allocations (net of deallocations) between two collections of the youngest generation
in a serving process (Python's default: 700); the older generations keep theirs."""

_on = False


def keep_settled() -> None:
    """Settle the heap now and after every reload of this process."""
    global _on
    _on = True
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, older, oldest)
    settle()


def settle() -> None:
    """Collect what building left behind, then freeze the survivors. Unfreezing first lets
    the collection find the cycles of a configuration a reload replaced (one still held
    by requests in flight is frozen again and goes with the next reload)."""
    if not _on:
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()
