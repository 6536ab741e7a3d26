"""Content-coding negotiation, the representation headers, and compressed forms kept in
the cache's store (the app's behaviour is in tests/test_compression_app.py)."""

from __future__ import annotations

import asyncio
import gzip
import os
import sys
import threading

import brotli
import pytest
import zstandard

from facade.cache.store import MemoryStore
from facade.compression import (
    CODECS,
    THREAD_BYTES,
    Compressor,
    Kept,
    Representation,
    accepted,
    negotiate,
    representation_headers,
    weak,
)
from facade.settings import Settings

OFFERED = ("zstd", "br", "gzip")
BODY = b'{"names":[' + b",".join(b'"customer %d"' % i for i in range(200)) + b"]}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("gzip", "gzip"),
        ("GZip", "gzip"),
        ("x-gzip", "gzip"),
        ("gzip, deflate, br", "br"),
        ("gzip, deflate, br, zstd", "zstd"),
        ("br;q=0.5, gzip", "gzip"),
        ("br;q=0.5, gzip;q=0.4", "br"),
        ("zstd;q=0, br;q=0, gzip", "gzip"),
        ("*", "zstd"),
        ("*;q=0.2, zstd;q=0", "br"),
        ("*;q=0", None),
        ("gzip;q=0", None),
        ("identity", None),
        ("deflate, compress", None),
        ("gzip;q=0.5, identity", None),
        ("gzip;q=0.5, identity;q=0.5", "gzip"),
        ("gzip, identity;q=0", "gzip"),
        ("gzip;q=1.5", None),
        ("gzip;q=abc", None),
        ("gzip;q=nan", None),
        ("gzip;q=0.0001", None),
        ("gzip;q=0.001", "gzip"),
        ("gzip ; Q=1.000", "gzip"),
        (" , ,gzip", "gzip"),
    ],
)
def test_negotiation_honours_q_values_and_the_server_preference(
    header: str | None, expected: str | None
) -> None:
    assert negotiate(header, OFFERED) == expected


def test_nothing_offered_means_nothing_chosen() -> None:
    assert negotiate("gzip, br", ()) is None


def test_accepted_reads_every_coding_with_its_quality() -> None:
    assert accepted("gzip;q=0.8, br , *;q=0.1") == {"gzip": 0.8, "br": 1.0, "*": 0.1}


def test_each_codec_round_trips() -> None:
    decoders = {
        "gzip": gzip.decompress,
        "br": brotli.decompress,
        "zstd": zstandard.ZstdDecompressor().decompress,
    }
    for coding, codec in CODECS.items():
        compressed = codec(BODY)
        assert len(compressed) < len(BODY)
        assert decoders[coding](compressed) == BODY


def test_headers_of_a_compressed_answer() -> None:
    headers = representation_headers({"etag": '"abc"', "vary": "Origin"}, "br", varies=True)
    assert headers == {
        "etag": 'W/"abc"',
        "vary": "Origin, Accept-Encoding",
        "content-encoding": "br",
    }
    assert weak('W/"abc"') == 'W/"abc"'


def test_headers_of_an_answer_that_could_have_been_compressed() -> None:
    headers = representation_headers({"etag": '"abc"'}, None, varies=True)
    assert headers == {"etag": '"abc"', "vary": "Accept-Encoding"}
    assert representation_headers({"etag": '"abc"'}, None, varies=False) == {"etag": '"abc"'}


def test_small_head_and_bodiless_answers_are_never_compressed() -> None:
    compressor = Compressor(min_bytes=100)
    try:
        assert compressor.choose("gzip", "GET", 200, 100) == "gzip"
        assert compressor.choose("gzip", "GET", 200, 99) is None
        assert compressor.choose("gzip", "HEAD", 200, 1000) is None
        assert compressor.choose("gzip", "GET", 204, 1000) is None
        assert compressor.choose("gzip", "GET", 304, 1000) is None
        assert compressor.choose("gzip", "POST", 201, 1000) == "gzip"
    finally:
        compressor.close()


def test_compression_turned_off_never_varies() -> None:
    compressor = Compressor(codings=())
    try:
        assert not compressor.varies("GET", 200, 10_000)
        assert compressor.choose("gzip", "GET", 200, 10_000) is None
    finally:
        compressor.close()


def test_an_unknown_coding_or_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown content coding 'lz4'"):
        Compressor(codings=("gzip", "lz4"))
    with pytest.raises(ValueError, match="at least 1 byte"):
        Compressor(min_bytes=0)


def test_settings_read_the_codings_and_refuse_unknown_ones() -> None:
    env = {"FACADE_COMPRESS": " br, GZIP ", "FACADE_COMPRESS_MIN_BYTES": "10"}
    settings = Settings.from_env(env)
    assert settings.compress == ("br", "gzip")
    assert settings.compress_min_bytes == 10
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({"FACADE_COMPRESS": ""}).compress == ()
    with pytest.raises(ValueError, match="FACADE_COMPRESS: unknown coding 'deflate'"):
        Settings.from_env({"FACADE_COMPRESS": "gzip,deflate"})
    with pytest.raises(ValueError, match="FACADE_COMPRESS_MIN_BYTES must be at least 1"):
        Settings.from_env({"FACADE_COMPRESS_MIN_BYTES": "0"})


class Counting:
    """Codecs that count their calls, by coding."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.codecs = {coding: self.wrap(coding) for coding in CODECS}

    def wrap(self, coding: str):  # type: ignore[no-untyped-def]
        def codec(body: bytes) -> bytes:
            self.calls[coding] = self.calls.get(coding, 0) + 1
            return CODECS[coding](body)

        return codec


def test_a_kept_answer_is_compressed_once_and_counted_in_the_store() -> None:
    store = MemoryStore(1_000_000)
    counting = Counting()
    compressor = Compressor(store=store, codecs=counting.codecs)
    kept = Kept('"tag"', "route", "legacy", ttl=60)

    async def twice_each() -> list[bytes]:
        return [await compressor.compress(BODY, c, kept) for c in ("br", "br", "gzip", "gzip")]

    try:
        bodies = asyncio.run(twice_each())
    finally:
        compressor.close()
    assert counting.calls == {"br": 1, "gzip": 1}
    assert bodies[0] == bodies[1] and bodies[2] == bodies[3]
    assert store.used == sum(store.get(kept.key(c)).size(kept.key(c)) for c in ("br", "gzip"))  # type: ignore[union-attr]
    assert store.purge("route") == 2


def test_concurrent_first_requests_share_one_compression() -> None:
    store = MemoryStore(1_000_000)
    counting = Counting()
    compressor = Compressor(store=store, codecs=counting.codecs)
    large = BODY * 100  # above the loop's budget: compressed in a thread
    kept = Kept('"large"', "route", "legacy", ttl=60)

    async def many() -> list[bytes]:
        return await asyncio.gather(*(compressor.compress(large, "zstd", kept) for _ in range(300)))

    try:
        bodies = asyncio.run(many())
    finally:
        compressor.close()
    assert counting.calls == {"zstd": 1}
    assert {zstandard.ZstdDecompressor().decompress(b) for b in bodies} == {large}


def test_an_expired_compressed_form_is_made_again() -> None:
    now = [0.0]
    counting = Counting()
    compressor = Compressor(store=MemoryStore(), codecs=counting.codecs, clock=lambda: now[0])
    kept = Kept('"tag"', "route", "legacy", ttl=10)
    try:
        asyncio.run(compressor.compress(BODY, "gzip", kept))
        now[0] = 11.0
        asyncio.run(compressor.compress(BODY, "gzip", kept))
    finally:
        compressor.close()
    assert counting.calls == {"gzip": 2}


def test_an_answer_without_a_tag_is_compressed_every_time() -> None:
    counting = Counting()
    compressor = Compressor(store=MemoryStore(), codecs=counting.codecs)
    try:
        for _ in range(3):
            asyncio.run(compressor.compress(BODY, "br"))
    finally:
        compressor.close()
    assert counting.calls == {"br": 3}


def test_a_waiter_compresses_itself_when_the_first_request_goes_away() -> None:
    """The first request for a coding is cancelled (its client left) while its compression
    runs in a thread: a request waiting for it compresses the answer itself."""
    release = threading.Event()
    calls: list[int] = []

    def slow(body: bytes) -> bytes:
        calls.append(len(body))
        release.wait(10)
        return CODECS["gzip"](body)

    large = BODY * 100
    compressor = Compressor(store=MemoryStore(), codecs={"gzip": slow}, codings=("gzip",))
    kept = Kept('"tag"', "route", "legacy", ttl=60)

    async def scenario() -> bytes:
        first = asyncio.ensure_future(compressor.compress(large, "gzip", kept))
        while not calls:  # until the first compression runs in its thread
            await asyncio.sleep(0.01)
        waiter = asyncio.ensure_future(compressor.compress(large, "gzip", kept))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await first
        return await waiter

    try:
        body = asyncio.run(scenario())
    finally:
        compressor.close()
    assert gzip.decompress(body) == large
    assert len(calls) == 2


def test_represent_gives_each_client_its_form_of_one_answer() -> None:
    compressor = Compressor(store=MemoryStore())
    headers = {"etag": '"abc"', "x-facade-backend": "legacy"}

    async def forms() -> list[Representation]:
        asks = [
            ("GET", {"accept-encoding": "gzip"}),
            ("GET", {"accept-encoding": "identity"}),
            ("GET", {"accept-encoding": "br", "if-none-match": 'W/"abc"'}),
            ("HEAD", {"accept-encoding": "gzip"}),
        ]
        return [await compressor.represent(m, 200, BODY, headers, h) for m, h in asks]

    try:
        packed, plain, unchanged, head = asyncio.run(forms())
    finally:
        compressor.close()
    assert packed.status == 200 and gzip.decompress(packed.body) == BODY
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["etag"] == 'W/"abc"'
    assert plain == Representation(200, {**headers, "vary": "Accept-Encoding"}, BODY)
    assert unchanged.status == 304 and unchanged.body == b""
    assert "content-encoding" not in unchanged.headers
    assert head == Representation(200, headers, BODY)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is Linux's")
@pytest.mark.parametrize("nice", [0, 4])
def test_large_answers_are_compressed_by_threads_nicer_than_the_loop(nice: int) -> None:
    seen: list[tuple[str, int]] = []

    def gzip_noting_its_thread(body: bytes) -> bytes:
        thread = threading.get_native_id()
        seen.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, thread)))
        return gzip.compress(body)

    compressor = Compressor(codecs={"gzip": gzip_noting_its_thread}, codings=("gzip",), nice=nice)
    large = b"x" * (THREAD_BYTES + 1)
    try:
        assert gzip.decompress(asyncio.run(compressor.compress(large, "gzip"))) == large
    finally:
        compressor.close()
    loop_priority = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    [(name, priority)] = seen
    assert name.startswith("facade-compress")
    assert priority == min(19, loop_priority + nice)
