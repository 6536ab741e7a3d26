"""Where a legacy reply is translated to JSON: on the event loop, or in a child process.

zeep reads a 1 MB reply in about 300 ms of pure Python, the compiled reader (which both
translators use through `translate_reply`; zeep reads what it declines) in 60 to 90 ms.
On the event loop that stalls every other request for as long; in a thread it still does,
since the thread holds the GIL and the loop waits for it after every system call. A child
process reads it on another core while the loop goes on serving. The child loads the same
mappings and WSDLs at start and is sent only the route's name and the raw reply; it
returns the JSON, already encoded (a thousand decoded objects would cost the loop more to
unpickle than the bytes to send), or the FacadeError.

    translator = ProcessTranslator(settings)       # facade serve uses this one
    await translator.start()
    encoded = await translator.translate(route, reply, deadline, version)   # JSON bytes
    translator.reconfigure(newer_version)          # after a reload

The child runs at a lower scheduling priority than the server (`translator_nice`, 10 by
default): where the cores are fewer than the busy processes, the loop's small requests
then go first and large replies take the CPU time left, rather than the two sharing it
evenly. It also hands blocks of 128 KiB and more back to the system as soon as they are
freed (glibc), so a reply's copies do not stay in its heap after the translation, and it
freezes the heap it loaded out of the garbage collector's sweeps, as the server does: a
large reply's thousands of new objects would otherwise set off full collections that walk
every schema object of every route, tens of milliseconds each.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Protocol

from facade import heap
from facade.backends.legacy_reply import translate_reply
from facade.errors import ConfigError
from facade.net.seam import Deadline, Reply
from facade.pacing import LOOP_WORK_BYTES, Pacer
from facade.routetable import CompiledRoute
from facade.settings import Settings
from facade.translate.response import encode_json
from facade.types import RouteName

OFF_LOOP_BYTES = LOOP_WORK_BYTES
"""Replies above this go to the child process; below it, sending the reply across costs
more than it saves."""

log = logging.getLogger("facade.translator")


class Translator(Protocol):
    async def start(self) -> None: ...

    async def translate(
        self, route: CompiledRoute, reply: Reply, deadline: Deadline, version: str | None = None
    ) -> bytes:
        """The route's answer as encoded JSON, or the FacadeError the reply stands for;
        waiting for a translation counts against the call's deadline. `version` is the
        fingerprint of the configuration the route belongs to (facade.sources)."""

    def reconfigure(self, version: str) -> None:
        """A new configuration serves from now on: translate its routes with it (its
        replies may be translated on the loop until a child has its files)."""

    async def aclose(self) -> None: ...


class LoopTranslator:
    """Translates on the event loop, in paced turns; for tests and embedded use, where
    there are no settings to start a child process from."""

    def __init__(self, pacer: Pacer | None = None) -> None:
        self.pacer = pacer or Pacer()

    async def start(self) -> None:
        return None

    async def translate(
        self, route: CompiledRoute, reply: Reply, deadline: Deadline, version: str | None = None
    ) -> bytes:
        await self.pacer.turn()  # replies arrive in bunches: translate them in turns
        return encode_json(translate_reply(route, reply))

    def reconfigure(self, version: str) -> None:
        return None  # it translates with the route it is handed

    async def aclose(self) -> None:
        return None


class ProcessTranslator:
    """Small replies on the loop, large ones in one child process per worker.

    The child compiles the folders itself, so it knows only the configuration it loaded
    (its fingerprint). A reply of a route from another configuration (a request that began
    before a reload, or came after one while the child still loads the new files) is
    translated on the loop instead: never with another configuration's route. After a
    reload, the first large reply of the new configuration starts a child on its files,
    once per configuration: a burst of reloads does not start a process for each.
    """

    def __init__(self, settings: Settings, pacer: Pacer | None = None) -> None:
        self.settings = settings
        self.on_loop = LoopTranslator(pacer)
        self._pool: ProcessPoolExecutor | None = None
        self._loaded: str | None = None
        """The fingerprint of the configuration the child compiled; None if unknown."""
        self._wanted: str | None = None
        """The configuration served now, once a reload named it."""
        self._tried: str | None = None
        """The configuration a child was last started for after a reload."""
        self._restarting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child and wait until it has loaded the mappings; without one, every
        reply is translated on the loop (slower under large replies, never wrong). The
        child it replaces finishes the translations it was given, then ends."""
        pool = self._new_pool()
        try:
            loaded = await asyncio.get_running_loop().run_in_executor(pool, _ready)
        except (BrokenProcessPool, OSError, ConfigError):
            log.exception("the translator process did not start; translating on the loop")
            pool.shutdown(wait=False, cancel_futures=True)
            return
        except asyncio.CancelledError:  # a newer configuration came while this one loaded
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        previous, self._pool, self._loaded = self._pool, pool, loaded
        if previous is not None:
            previous.shutdown(wait=False, cancel_futures=False)

    async def translate(
        self, route: CompiledRoute, reply: Reply, deadline: Deadline, version: str | None = None
    ) -> bytes:
        pool = self._pool
        if version is not None and version != self._loaded:
            if len(reply.content) > OFF_LOOP_BYTES:
                self._follow(version)
            return await self.on_loop.translate(route, reply, deadline)
        if len(reply.content) <= OFF_LOOP_BYTES or pool is None:
            return await self.on_loop.translate(route, reply, deadline)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(deadline.remaining()):
                return await loop.run_in_executor(pool, _translate, route.name, reply)
        except TimeoutError as exc:
            # queued behind other large replies past the route's deadline
            raise deadline.passed("The backend's reply was not translated") from exc
        except BrokenProcessPool:
            # the child died (killed, out of memory): serve this one here, and start a new
            # one in the background; until it has loaded, replies are translated on the loop
            if self._pool is pool:  # several calls may see the same death; replace it once
                log.warning("the translator process stopped; starting a new one")
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self._restart()
            return await self.on_loop.translate(route, reply, deadline)

    def reconfigure(self, version: str) -> None:
        """From now on `version` serves; a child is started on its files when one of its
        replies needs it."""
        self._wanted = version

    def _follow(self, version: str) -> None:
        """Start a child on the files of the configuration served now, once for it."""
        if version == self._wanted and version != self._tried:
            self._tried = version
            self._restart()

    async def aclose(self) -> None:
        if self._restarting is not None:
            self._restarting.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _restart(self) -> None:
        if self._restarting is not None and not self._restarting.done():
            self._restarting.cancel()  # a newer configuration supersedes the one loading
        self._restarting = asyncio.ensure_future(self.start())

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server process has threads by now
        context = multiprocessing.get_context("spawn")
        return ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_start, initargs=(self.settings,)
        )


# --- in the child process ----------------------------------------------------------------

_routes: dict[RouteName, CompiledRoute] = {}
_version: list[str | None] = [None]


def _start(settings: Settings) -> None:
    """The child's start: tied to its server, yielding the CPU to it, then the routes
    loaded and frozen out of the collector's sweeps."""
    _exit_with_parent()
    _yield_to_the_server(settings.translator_nice)
    _large_blocks_to_the_system()
    _load(settings)
    heap.keep_settled()


def _load(settings: Settings) -> None:
    """Compile the legacy side of every route; new sides are left out, so the child never
    imports the handlers' modules (their import-time effects belong to the server). The
    files are fingerprinted before and after: if they changed meanwhile, the version stays
    unknown and the server translates on its loop until a child loads a settled set."""
    from facade.mapping.loader import MigrationPolicy, load_mappings
    from facade.routetable import build_route_table
    from facade.soap.registry import WsdlRegistry
    from facade.sources import fingerprint

    before = fingerprint(settings.mappings_dir, settings.wsdl_dir)
    mappings = [
        replace(mapping, new=None, migration=MigrationPolicy())
        for mapping in load_mappings(settings.mappings_dir)
    ]
    table = build_route_table(mappings, WsdlRegistry(settings.wsdl_dir))
    _routes.update({route.name: route for route in table})
    settled = fingerprint(settings.mappings_dir, settings.wsdl_dir) == before
    _version[0] = before if settled else None


def _exit_with_parent() -> None:
    """End this child as soon as the server process is gone, however it went (a SIGKILL
    gives the server no chance to stop it): no orphan keeps running."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _yield_to_the_server(nice: int) -> None:
    """Lower this process's scheduling priority by `nice` below the server's."""
    if nice:
        os.nice(nice)


LARGE_BLOCK_BYTES = 128 * 1024
"""glibc's own starting threshold for serving an allocation by mmap."""
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def _large_blocks_to_the_system() -> bool:
    """Serve allocations from LARGE_BLOCK_BYTES on by mmap, whatever was freed before:
    glibc otherwise raises that threshold to the largest block freed (the reply's bytes,
    their pickle), after which such blocks come from the heap, and freeing them leaves
    the heap as large as the largest translation made it. False where libc is not glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))


def _ready() -> str | None:
    return _version[0]


def _translate(name: RouteName, reply: Reply) -> bytes:
    return encode_json(translate_reply(_routes[name], reply))
