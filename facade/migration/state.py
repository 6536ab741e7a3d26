"""The flag state in a file, shared by every worker process of one facade.

    store = FileFlagStore(Path("/var/lib/facade/flags.json"))   # audit: flags.audit.jsonl
    store.current()          # 8 bytes of shared memory compared; a re-read when they changed
    store.update(change)     # under an exclusive lock: read, change, write, audit

Writes are atomic: a temp file in the same folder, fsync, rename over the state, fsync of
the folder; a reader sees the old state or the new one, never half of one. A separate lock
file (`.flags.json.lock`) is held with fcntl around every read-modify-write, so two workers
that flip at once both land. The audit is JSON lines appended under the same lock.

Each write also bumps a counter in the lock file, which every worker maps into memory: the
check a request makes is a comparison of 8 bytes, with no system call. A stat() of the state
file (inode, mtime, size) at most every STAT_SECONDS also catches an operator's own edit (a
repair). Where the lock file cannot be mapped, every request makes that stat() instead.

A state file that cannot be parsed is never overwritten: `current()` serves the declared
modes (an empty state) and reports the problem, `update()` raises StateUnavailable until an
operator repairs or removes the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from facade.migration.flags import (
    AuditEntry,
    Change,
    FlagState,
    StateUnavailable,
    last_entries,
)
from facade.types import RouteName

log = logging.getLogger("facade.flags")

STAT_SECONDS = 1.0
"""How often a worker looks at the state file itself, for edits made by hand."""
VERSION_BYTES = 8

Signature = tuple[int, int, int]
"""(inode, mtime in ns, size) of the state file: it changes with every rename over it."""


def audit_path_for(state: Path) -> Path:
    """Where the audit goes when no path is given: next to the state file."""
    return state.with_name(state.stem + ".audit.jsonl")


class FileFlagStore:
    """A FlagStore in a JSON file, for the workers of one facade on one machine."""

    def __init__(
        self, path: Path, audit: Path | None = None, stat_seconds: float = STAT_SECONDS
    ) -> None:
        self.path = path
        self.stat_seconds = stat_seconds
        self.audit = audit or audit_path_for(path)
        self._lockfile = path.with_name(f".{path.name}.lock")
        self._guard = threading.Lock()
        self._seen: Signature | None = None
        self._state = FlagState()
        self._problem: str | None = None
        self._version = b""
        self._stat_at = time.monotonic()
        self._map = self._map_version()
        self._load(self._signature())

    def current(self) -> FlagState:
        if self._changed():
            self._load(self._signature())
        return self._state

    def close(self) -> None:
        """Unmap the version counter (the store then stats the file on every call)."""
        shared, self._map = self._map, None
        if shared is not None:
            shared.close()

    def update(self, change: Change) -> FlagState:
        with self._locked():
            signature = self._signature()
            self._load(signature)
            if self._problem is not None:
                raise StateUnavailable(self._problem)
            state, entries = change(self._state)
            if state != self._state:
                self._write(state)
                self._bump()
            self._append(entries)
            self._load(self._signature())
            return state

    def history(self, route: RouteName | None = None) -> list[AuditEntry]:
        try:
            lines = self.audit.read_bytes().splitlines()
        except FileNotFoundError:
            return []
        entries = []
        for number, line in enumerate(lines, 1):
            try:
                entries.append(AuditEntry.from_json(orjson.loads(line)))
            except (ValueError, KeyError, TypeError):
                log.warning("skipped a line of the audit log", extra={"fields": self._at(number)})
        return last_entries(entries, route)

    def problem(self) -> str | None:
        return self._problem

    def describe(self) -> str:
        return str(self.path)

    def _at(self, line: int) -> dict[str, object]:
        return {"file": str(self.audit), "line": line}

    def _changed(self) -> bool:
        """Whether the state may have changed since it was read: the shared counter moved,
        or (now and then, and always without the counter) the file's signature did."""
        shared = self._map
        if shared is not None and shared[:VERSION_BYTES] != self._version:
            return True
        now = time.monotonic()
        if shared is not None and now - self._stat_at < self.stat_seconds:
            return False
        self._stat_at = now
        return self._signature() != self._seen

    def _map_version(self) -> mmap.mmap | None:
        """The lock file's first 8 bytes, shared with every worker: the write counter."""
        try:
            with self._locked():
                descriptor = os.open(self._lockfile, os.O_RDWR)
                try:
                    if os.fstat(descriptor).st_size < VERSION_BYTES:
                        os.ftruncate(descriptor, VERSION_BYTES)
                    return mmap.mmap(descriptor, VERSION_BYTES)
                finally:
                    os.close(descriptor)  # the mapping stays valid without it
        except OSError as exc:
            fields = {"file": str(self._lockfile), "reason": exc.strerror}
            log.warning("flag changes are found by stat() instead", extra={"fields": fields})
            return None

    def _bump(self) -> None:
        shared = self._map
        if shared is not None:
            count = int.from_bytes(shared[:VERSION_BYTES], "big") + 1
            shared[:VERSION_BYTES] = (count % 2**64).to_bytes(VERSION_BYTES, "big")

    def _signature(self) -> Signature | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:  # a permission problem is reported by the read itself
            return (-1, exc.errno or 0, 0)
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _load(self, signature: Signature | None) -> None:
        """Read the state the file holds now; a bad file leaves the declared modes serving.
        The counter is read first: a write that lands in between is read again next time."""
        with self._guard:
            if self._map is not None:
                self._version = self._map[:VERSION_BYTES]
            try:
                state, problem = (FlagState(), None) if signature is None else (self._read(), None)
            except (OSError, ValueError) as exc:
                state, problem = FlagState(), self._explain(exc)
            if problem is not None and problem != self._problem:
                log.error("flag state unusable", extra={"fields": {"problem": problem}})
            self._state, self._problem, self._seen = state, problem, signature

    def _read(self) -> FlagState:
        return FlagState.from_json(orjson.loads(self.path.read_bytes()))

    def _explain(self, exc: Exception) -> str:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        return (
            f"the state file {self.path} cannot be used ({reason}): the declared modes serve "
            f"and flips are refused until it is repaired or removed"
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._lockfile, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    def _write(self, state: FlagState) -> None:
        data = orjson.dumps(state.as_json(), option=orjson.OPT_INDENT_2)
        folder = self.path.parent
        descriptor, temp = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        _fsync_folder(folder)

    def _append(self, entries: list[AuditEntry]) -> None:
        if not entries:
            return
        lines = b"".join(orjson.dumps(e.as_json()) + b"\n" for e in entries)
        self.audit.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.audit, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, lines)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
