"""Compression toward clients: mobile clients pay for every byte of an answer.

An answer of at least `min_bytes` is sent compressed with the best coding the client's
`Accept-Encoding` allows (zstd, brotli or gzip; q-values honoured, `q=0` refuses), with
`Vary: Accept-Encoding` and a weak ETag (the validator of the JSON, whatever its coding:
`If-None-Match` still gives a 304). HEAD, 204 and 304 answers are never compressed.

A body larger than the loop's work budget is compressed in a thread: zlib, brotli and
zstd release the GIL while they work, so the event loop goes on serving meanwhile. Those
threads run at a lower scheduling priority than the loop (`nice`, on Linux): where busy
threads outnumber the cores, the kernel serves the loop's small requests first.
A cached answer (it has an ETag) is compressed once per coding, the first time a client
asks for it, and kept in the cache's own store, where its bytes count and age out with
the rest; every later request gets the kept bytes.

    compressor = Compressor(min_bytes=1024, store=cache.store)
    sent = await compressor.represent("GET", 200, body, headers, request.headers, kept)
    # sent.status (200, or 304 for a matching If-None-Match), sent.headers, sent.body
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import brotli
import zstandard

from facade.cache.http import not_modified
from facade.cache.store import CacheStore, Entry
from facade.pacing import LOOP_WORK_BYTES
from facade.types import RouteName, ServedBy

Codec = Callable[[bytes], bytes]

DEFAULT_MIN_BYTES = 1024
"""Answers below 1 KiB go as they are: a few hundred bytes gain little and cost a call."""

DEFAULT_CODINGS = ("zstd", "br", "gzip")
"""The server's preference when the client accepts several equally: zstd level 3 gives
the smallest answer for the least CPU on the demo's JSON, brotli quality 4 nearly as
small, gzip level 1 is what every client speaks (levels above it cost 2-3x the CPU for
1-4 % fewer bytes)."""

THREAD_BYTES = LOOP_WORK_BYTES
"""Bodies above the loop's budget are compressed in a thread (about 1 ms on the loop at
most below it)."""

THREADS = 2
"""Compression threads per worker process; the work releases the GIL, so two keep two
cores busy when large answers come in a burst (more only queue for the same cores)."""

_QVALUE = re.compile(r"^(0(\.\d{0,3})?|1(\.0{0,3})?)$")
_zstd_local = threading.local()


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=1, mtime=0)


def _brotli(body: bytes) -> bytes:
    return bytes(brotli.compress(body, quality=4))


def _zstd(body: bytes) -> bytes:
    # a compressor is not safe to share between threads: one per thread, reused
    compressor = getattr(_zstd_local, "compressor", None)
    if compressor is None:
        compressor = _zstd_local.compressor = zstandard.ZstdCompressor(level=3)
    return bytes(compressor.compress(body))


CODECS: Mapping[str, Codec] = {"zstd": _zstd, "br": _brotli, "gzip": _gzip}
"""Every coding the facade can send, by its `Content-Encoding` name."""


def accepted(header: str) -> dict[str, float]:
    """The codings an `Accept-Encoding` value names, with their q-values (RFC 9110 12.5.3);
    a malformed q-value counts as a refusal, never as a wish."""
    found: dict[str, float] = {}
    for part in header.split(","):
        name, _, parameters = part.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                value = value.strip()
                quality = float(value) if _QVALUE.match(value) else 0.0
        found["gzip" if name == "x-gzip" else name] = quality
    return found


def negotiate(header: str | None, offered: tuple[str, ...]) -> str | None:
    """The coding to send, from `offered` in the server's order of preference; None for
    the answer as it is (no header, nothing acceptable, or identity preferred)."""
    if not header or not offered:
        return None
    wishes = accepted(header)
    anything = wishes.get("*")
    # identity is acceptable unless refused; it competes only when the client rates it
    identity = wishes.get("identity", anything if anything is not None else 0.0)
    best, best_quality = None, 0.0
    for coding in offered:
        quality = wishes.get(coding, anything if anything is not None else 0.0)
        if quality > best_quality:
            best, best_quality = coding, quality
    if best is None or best_quality < identity:
        return None
    return best


def weak(tag: str) -> str:
    """The ETag of a compressed answer: weak, since its bytes differ from the JSON's while
    what it means does not (as a compressing proxy marks it)."""
    return tag if tag.startswith("W/") else "W/" + tag


def representation_headers(
    headers: Mapping[str, str], coding: str | None, varies: bool
) -> dict[str, str]:
    """The answer's headers for the coding chosen: Content-Encoding, a weak ETag, and
    `Vary: Accept-Encoding` whenever the body could have been sent another way."""
    out = dict(headers)
    if varies:
        vary = out.get("vary")
        out["vary"] = f"{vary}, Accept-Encoding" if vary else "Accept-Encoding"
    if coding is not None:
        out["content-encoding"] = coding
        if "etag" in out:
            out["etag"] = weak(out["etag"])
    return out


@dataclass(frozen=True)
class Representation:
    """What goes to the client: a status, its headers and the body (empty for a 304)."""

    status: int
    headers: dict[str, str]
    body: bytes


def lower_priority(nice: int) -> None:
    """Lower the calling thread's scheduling priority by `nice` steps (Linux, where each
    thread has its own; elsewhere the whole process would move, so nothing is done)."""
    if nice and sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + nice)
        )


@dataclass(frozen=True)
class Kept:
    """Where a cached answer's compressed forms are kept: by the ETag of its JSON (the
    same bytes, the same tag), so a client can only reach them through an answer of its
    own, and a changed answer never meets an old compressed form."""

    tag: str
    route: RouteName
    side: ServedBy
    ttl: float
    """Seconds the compressed form is kept (the route's cache ttl)."""

    def key(self, coding: str) -> str:
        return f"{coding}:{self.tag}"


class Compressor:
    """Chooses a coding per request and compresses, once per cached answer and coding.

    compressor = Compressor(min_bytes=1024, codings=("br", "gzip"))
    """

    def __init__(
        self,
        min_bytes: int = DEFAULT_MIN_BYTES,
        codings: tuple[str, ...] = DEFAULT_CODINGS,
        store: CacheStore | None = None,
        codecs: Mapping[str, Codec] = CODECS,
        clock: Callable[[], float] = time.monotonic,
        nice: int = 0,
    ) -> None:
        unknown = [coding for coding in codings if coding not in codecs]
        if unknown:
            raise ValueError(f"unknown content coding {unknown[0]!r}; known: {sorted(codecs)}")
        if min_bytes < 1:
            raise ValueError("the smallest answer to compress must be at least 1 byte")
        self.min_bytes = min_bytes
        self.codings = codings
        self.store = store
        self.codecs = codecs
        self.clock = clock
        self._threads = ThreadPoolExecutor(
            THREADS,
            thread_name_prefix="facade-compress",
            initializer=lower_priority,
            initargs=(nice,),
        )
        self._running: dict[str, asyncio.Future[bytes]] = {}

    def varies(self, method: str, status: int, size: int) -> bool:
        """Whether this answer's body depends on the client's Accept-Encoding."""
        if method == "HEAD" or status in (204, 304) or status < 200:
            return False
        return bool(self.codings) and size >= self.min_bytes

    def choose(
        self, accept_encoding: str | None, method: str, status: int, size: int
    ) -> str | None:
        """The coding for this answer, or None to send it as it is."""
        if not self.varies(method, status, size):
            return None
        return negotiate(accept_encoding, self.codings)

    async def represent(
        self,
        method: str,
        status: int,
        encoded: bytes,
        headers: Mapping[str, str],
        request_headers: Mapping[str, str],
        kept: Kept | None = None,
    ) -> Representation:
        """An answer as this client gets it: a 304 when its `If-None-Match` names the
        answer's ETag, else the body in the coding it accepts (as it is otherwise), with
        the headers that go with it. Every way an answer leaves the facade goes through
        here, so all of them compress alike."""
        sent, coding = self._choice(method, status, encoded, headers, request_headers)
        if coding is None:
            return sent
        return replace(sent, body=await self.compress(encoded, coding, kept))

    def represent_now(
        self,
        method: str,
        status: int,
        encoded: bytes,
        headers: Mapping[str, str],
        request_headers: Mapping[str, str],
        kept: Kept | None = None,
    ) -> Representation | None:
        """As `represent`, when nothing is left to compress: no coding, a 304, or a coding
        whose form of this kept answer is already kept. None when a compression must run
        (`represent` then makes it)."""
        sent, coding = self._choice(method, status, encoded, headers, request_headers)
        if coding is None:
            return sent
        body = self._kept_form(coding, kept)
        return None if body is None else replace(sent, body=body)

    def _choice(
        self,
        method: str,
        status: int,
        encoded: bytes,
        headers: Mapping[str, str],
        request_headers: Mapping[str, str],
    ) -> tuple[Representation, str | None]:
        """The answer as sent, and the coding its body is still to be put in (None: the
        body is final, `encoded` or a 304's nothing)."""
        size = len(encoded)
        coding = self.choose(request_headers.get("accept-encoding"), method, status, size)
        sent = representation_headers(headers, coding, self.varies(method, status, size))
        if not_modified(request_headers.get("if-none-match"), headers.get("etag")):
            sent.pop("content-encoding", None)
            return Representation(304, sent, b""), None
        return Representation(status, sent, encoded), coding

    async def compress(self, body: bytes, coding: str, kept: Kept | None = None) -> bytes:
        """`body` in `coding`; a kept answer's compressed form is made once and reused
        (concurrent first requests share the one compression)."""
        if kept is None or self.store is None:
            return await self._run(coding, body)
        found = self._kept_form(coding, kept)
        if found is not None:
            return found
        key = kept.key(coding)
        running = self._running.get(key)
        if running is not None:
            try:
                return await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise
            # the first request went away before its compression ended: do it here
        return await self._keep(self.store, key, body, coding, kept)

    def _kept_form(self, coding: str, kept: Kept | None) -> bytes | None:
        """The kept answer's form in `coding`, when it is kept and still fresh."""
        if kept is None or self.store is None:
            return None
        entry = self.store.get(kept.key(coding))
        if entry is not None and entry.expires > self.clock():
            return entry.encoded
        return None

    async def _keep(
        self, store: CacheStore, key: str, body: bytes, coding: str, kept: Kept
    ) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            compressed = await self._run(coding, body)
        except BaseException:
            future.cancel()  # those waiting compress it themselves
            raise
        finally:
            if self._running.get(key) is future:
                del self._running[key]
        now = self.clock()
        entry = Entry(
            route=kept.route,
            status=200,
            encoded=compressed,
            side=kept.side,
            expires=now + kept.ttl,
            stored=now,
            etag=kept.tag,
        )
        store.put(key, entry)
        future.set_result(compressed)
        return compressed

    async def _run(self, coding: str, body: bytes) -> bytes:
        codec = self.codecs[coding]
        if len(body) <= THREAD_BYTES:
            return codec(body)
        return await asyncio.get_running_loop().run_in_executor(self._threads, codec, body)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
