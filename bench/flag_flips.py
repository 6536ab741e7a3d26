"""Flips under load, and what a request pays to learn its route's setting.

    PYTHONPATH=. .venv/bin/python bench/flag_flips.py [--clients 1000] [--lookups 200000]

1. The cost of one flag lookup (FlagControl.setting) with the in-process store and with the
   state file (a shared counter compared), next to one os.stat() of that file, the check it
   replaced: microseconds each, measured in this run.
2. `facade serve --workers 2 --state FILE` hit by waves of CLIENTS requests at once (one
   connection each) while the admin API flips get-customer between new, canary and legacy
   between the waves: statuses and sides, flips made, seconds for the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "e2e")]

from facade.mapping.loader import load_mappings  # noqa: E402
from facade.migration.control import FlagControl  # noqa: E402
from facade.migration.flags import FlagStore, MemoryFlagStore  # noqa: E402
from facade.migration.state import FileFlagStore  # noqa: E402


def lookups(count: int) -> None:
    routes = load_mappings(ROOT / "mappings")
    has_new = [route.name for route in routes if route.new is not None]
    folder = Path(tempfile.mkdtemp())
    stores: list[tuple[str, FlagStore]] = [
        ("in-process store", MemoryFlagStore()),
        ("state file", FileFlagStore(folder / "flags.json")),
    ]
    for label, store in stores:
        control = FlagControl(routes, store, has_new=has_new)
        control.flip("get-customer", "new", None, "bench", "bench")
        seconds = timeit.timeit(lambda c=control: c.setting("get-customer"), number=count)
        print(f"lookup, {label}: {seconds / count * 1e6:.2f} us")
    path = str(folder / "flags.json")
    seconds = timeit.timeit(lambda: os.stat(path), number=count)
    print(f"one os.stat() of the state file: {seconds / count * 1e6:.2f} us")


def flips_under_load(clients: int) -> None:
    from test_flags_workers import burst_during_flips, facade, peers

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * clients)), hard))
    state = Path(tempfile.mkdtemp()) / "flags.json"
    with peers() as env, facade(env, "--state", str(state)) as base:
        started = time.monotonic()
        statuses, flips = asyncio.run(burst_during_flips(base, clients))
        seconds = time.monotonic() - started
    print(f"{clients} clients per wave: {dict(statuses)}, {flips} flips, {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--lookups", type=int, default=200_000)
    args = parser.parse_args()
    lookups(args.lookups)
    flips_under_load(args.clients)


if __name__ == "__main__":
    main()
