"""Hot reload: rebuild the configuration from the folders and swap it in, or keep serving the
previous one and say why.

    reloader = Reloader(mappings, wsdl, current, configure, adopt, count)
    await reloader.start(watch=True, on_signal=True)  # the app's lifespan does this
    reloader.request("signal")                        # SIGHUP, or a batch of file changes
    await reloader.aclose()

A reload compiles the folders exactly as `facade check` does, in a thread (zeep takes a
while over a large WSDL, and the event loop must go on serving meanwhile), builds the
served routes and the OpenAPI document there too, then swaps the whole configuration on the
event loop in one assignment. Requests that matched the old configuration finish on it.
Requests for reloads that arrive during a build are folded into one more build after it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from watchfiles import awatch

from facade import heap
from facade.config.loader import FacadeConfig
from facade.configuration import Configuration, Current
from facade.errors import ConfigError, ConfigProblem
from facade.sources import Built, build_from_folders, fingerprint
from facade.types import RouteName

log = logging.getLogger("facade.reload")

WATCH_STEP_MS = 200
"""A batch of file changes is reloaded once nothing more changed for 200 ms (an editor's
write, rename and chmod, or a checkout of many files, give one reload)."""
WATCH_DEBOUNCE_MS = 2000
"""...or after 2 s of changes that never pause."""
EMPTY = "has no mapping files; the routes served before are kept (an unmounted folder?)"

Result = Literal["ok", "failed", "unchanged"]


@dataclass(frozen=True)
class Changes:
    """Routes by name, compared between two configurations by their revisions."""

    added: tuple[RouteName, ...] = ()
    removed: tuple[RouteName, ...] = ()
    changed: tuple[RouteName, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What the last reload did; a failed one lists the problems of the files."""

    result: Result
    reason: str
    at: str
    generation: int
    changes: Changes = Changes()
    problems: tuple[ConfigProblem, ...] = field(default_factory=tuple)


Configure = Callable[[Built, int], Configuration]
"""Builds the served configuration of a compiled table (called in a thread)."""
Adopt = Callable[[Configuration, Changes], None]
"""Runs on the event loop right after a swap: pools for new origins, the translator, the
cache entries of changed routes."""
Count = Callable[[Result], None]


def diff(before: Configuration, after: Configuration) -> Changes:
    old, new = before.revisions, after.revisions
    return Changes(
        added=tuple(sorted(set(new) - set(old))),
        removed=tuple(sorted(set(old) - set(new))),
        changed=tuple(sorted(name for name in set(old) & set(new) if old[name] != new[name])),
    )


class Reloader:
    """Keeps one app's configuration in step with its mapping and WSDL folders."""

    def __init__(
        self,
        mappings: Path,
        wsdl: Path,
        current: Current,
        configure: Configure,
        adopt: Adopt,
        count: Count,
        config: FacadeConfig | None = None,
    ) -> None:
        self.mappings = mappings
        self.wsdl = wsdl
        self.config = config
        """The settings file, read once at start: its per-WSDL credentials apply to every
        build."""
        self.current = current
        self.configure = configure
        self.adopt = adopt
        self.count = count
        self.last: Outcome | None = None
        """The last reload's outcome; None until one ran."""
        self.finished = 0
        """Reloads asked for by `request` that have ended, crashed ones included."""
        self._wanted = asyncio.Event()
        self._reasons: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()
        self._signal = False

    async def start(self, *, watch: bool, on_signal: bool) -> None:
        """Serve reload requests; watch the folders and/or listen for SIGHUP. A change made
        while the app was starting (after it read the files) is caught up at once."""
        self._tasks.append(asyncio.create_task(self._serve(), name="facade-reload"))
        if watch:
            self._tasks.append(asyncio.create_task(self._watch(), name="facade-reload-watch"))
        if on_signal:
            self._listen()
        version = self.current.configuration.version
        if version is not None and await asyncio.to_thread(self._fingerprint) != version:
            self.request("changed while starting")

    def request(self, reason: str) -> None:
        """Ask for a reload (from the event loop's thread)."""
        self._reasons.append(reason)
        self._wanted.set()

    async def reload(self, reason: str = "request") -> Outcome:
        """Build from the folders and swap, now; one build at a time."""
        async with self._lock:
            started = time.perf_counter()
            outcome = await self._reload(reason)
            self.last = outcome
            self.count(outcome.result)
            _log(outcome, time.perf_counter() - started)
            return outcome

    def report(self) -> dict[str, Any]:
        """The configuration served and the last reload, for the readiness detail. Problems
        name their file and field; their messages (which may quote an address from a
        mapping) go to the log only."""
        configuration = self.current.configuration
        document: dict[str, Any] = {
            "generation": configuration.generation,
            "version": (configuration.version or "")[:16],
        }
        if self.last is not None:
            last = self.last
            document["reload"] = {
                "result": last.result,
                "reason": last.reason,
                "at": last.at,
                "problems": [{"file": p.file, "field": p.field} for p in last.problems],
            }
        return document

    async def aclose(self) -> None:
        self._stop.set()
        if self._signal:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _reload(self, reason: str) -> Outcome:
        previous = self.current.configuration
        generation = previous.generation
        try:
            newer = await asyncio.to_thread(self._build, previous)
        except ConfigError as exc:
            return Outcome("failed", reason, _now(), generation, problems=tuple(exc.problems))
        if newer is None:
            return Outcome("unchanged", reason, _now(), generation)
        changes = diff(previous, newer)
        self.current.swap(newer)  # from the next request on
        self.adopt(newer, changes)
        heap.settle()  # the replaced configuration goes with the next reload's collection
        return Outcome("ok", reason, _now(), newer.generation, changes)

    def _build(self, previous: Configuration) -> Configuration | None:
        """The new configuration (in a worker thread); None when the files are the ones
        served already."""
        if previous.version is not None and self._fingerprint() == previous.version:
            return None
        built = build_from_folders(self.mappings, self.wsdl, self.config)
        if not len(built.table):
            raise ConfigError([ConfigProblem(str(self.mappings), "", EMPTY)])
        if built.version == previous.version:
            return None
        return self.configure(built, previous.generation + 1)

    def _fingerprint(self) -> str:
        return fingerprint(self.mappings, self.wsdl)

    async def _serve(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            reasons, self._reasons = self._reasons, []
            try:
                await self.reload(", ".join(dict.fromkeys(reasons)) or "request")
            except Exception:  # noqa: BLE001 - a bug in one reload must not end reloading
                log.exception("configuration reload crashed; the previous configuration serves")
            self.finished += 1

    async def _watch(self) -> None:
        """Reload after each batch of changes in either folder. Folders are watched, not
        files, so an editor that writes a temporary file and renames it over the mapping
        is seen like any other write."""
        folders = [folder for folder in (self.mappings, self.wsdl) if folder.is_dir()]
        async for _ in awatch(
            *folders, step=WATCH_STEP_MS, debounce=WATCH_DEBOUNCE_MS, stop_event=self._stop
        ):
            self.request("files changed")

    def _listen(self) -> None:
        """SIGHUP asks for a reload; only the main thread of a process can take signals."""
        if threading.current_thread() is not threading.main_thread():
            log.info("not in the main thread: SIGHUP does not reload this app")
            return
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.request, "signal")
        self._signal = True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _log(outcome: Outcome, seconds: float) -> None:
    fields: dict[str, Any] = {
        "result": outcome.result,
        "reason": outcome.reason,
        "generation": outcome.generation,
        "duration_ms": round(seconds * 1000, 1),
    }
    if outcome.result == "failed":
        fields["problems"] = [
            {"file": p.file, "field": p.field, "message": p.message} for p in outcome.problems
        ]
        listed = "; ".join(str(p) for p in outcome.problems)
        log.error(
            "configuration reload failed, the previous one still serves: %s",
            listed,
            extra={"fields": fields},
        )
        return
    changes = outcome.changes
    fields |= {
        "added": list(changes.added),
        "removed": list(changes.removed),
        "changed": list(changes.changed),
    }
    message = "configuration reloaded" if outcome.result == "ok" else "configuration unchanged"
    log.info(message, extra={"fields": fields})
