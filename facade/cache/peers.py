"""Purges shared between the worker processes of one facade (`facade serve --workers N`):
each worker has its own cache, so a purge is appended to one small file in the folder the
workers already share, and every worker applies the lines it has not seen before it serves
a cached route. Looking costs one stat while nothing was purged.

    log = PurgeLog.in_folder(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    log.publish("get-customer", frozenset({("id", "42")}))
    for route, params in log.unseen(): ...          # in every worker, the new lines only
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import orjson

from facade.cache.store import Params
from facade.types import RouteName

PURGE_FILE = "cache-purges.jsonl"


class PurgeLog:
    """An append-only file of purges; each instance remembers how far it has read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen = self._size()  # what was purged before this worker started is moot

    @classmethod
    def in_folder(cls, folder: str | Path) -> PurgeLog:
        return cls(Path(folder) / PURGE_FILE)

    def publish(self, route: RouteName, params: Params) -> list[tuple[RouteName, Params]]:
        """Append one purge; a single write of one line, so lines of several workers never
        interleave. Returns the purges of others not seen yet; this worker skips past its
        own line (it purges itself directly)."""
        line = orjson.dumps({"route": route, "params": sorted(params)}) + b"\n"
        with self._lock:
            earlier = self._catch_up_lines()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self._seen += len(line)
        return list(_parsed(earlier))

    def unseen(self) -> list[tuple[RouteName, Params]]:
        """The purges appended since the last call, in order."""
        with self._lock:
            lines = self._catch_up_lines()
        return list(_parsed(lines)) if lines else []

    def _catch_up_lines(self) -> list[bytes]:
        """The whole lines past what was read; under the lock."""
        if self._size() <= self._seen:
            return []
        with self.path.open("rb") as file:
            file.seek(self._seen)
            data = file.read()
        complete = data[: data.rfind(b"\n") + 1]
        self._seen += len(complete)
        return complete.splitlines()

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0


def _parsed(lines: list[bytes]) -> Iterator[tuple[RouteName, Params]]:
    for raw in lines:
        try:
            item = orjson.loads(raw)
            yield str(item["route"]), frozenset((str(n), str(v)) for n, v in item["params"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue  # a foreign line purges nothing
