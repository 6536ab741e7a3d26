"""The JWKS cache: refreshed on its interval, on an unknown key id at most once per
min_refresh, one fetch for many waiters, the old keys kept when the provider fails."""

from __future__ import annotations

import asyncio
from pathlib import Path

import identity
import orjson
import pytest

from facade.auth.jwks import JwksKeys, JwksUnavailable, UnknownKey, parse_jwks
from facade.errors import BackendUnreachable


class Provider:
    def __init__(self) -> None:
        self.kids = ["k1"]
        self.fetches = 0
        self.down = False

    async def fetch(self, url: str) -> bytes:
        assert url == "https://id.test/jwks"
        self.fetches += 1
        await asyncio.sleep(0)
        if self.down:
            raise BackendUnreachable()
        return orjson.dumps(identity.jwks(*self.kids))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def keys(provider: Provider, clock: Clock) -> JwksKeys:
    return JwksKeys(
        url="https://id.test/jwks",
        fetch=provider.fetch,
        refresh=300,
        min_refresh=30,
        clock=clock,
    )


def test_keys_are_fetched_once_then_on_the_refresh_interval() -> None:
    provider, clock = Provider(), Clock()
    cache = keys(provider, clock)

    async def run() -> None:
        await cache.key("k1")
        clock.now += 299
        await cache.key("k1")
        assert provider.fetches == 1
        clock.now += 2
        await cache.key("k1")
        assert provider.fetches == 2

    asyncio.run(run())


def test_unknown_kids_fetch_at_most_once_per_min_refresh() -> None:
    provider, clock = Provider(), Clock()
    cache = keys(provider, clock)

    async def run() -> None:
        await cache.key("k1")
        clock.now += 31
        for _ in range(50):
            with pytest.raises(UnknownKey):
                await cache.key("made-up")
        assert provider.fetches == 2  # the first, then one for all the made-up kids
        provider.kids = ["k1", "k2"]
        with pytest.raises(UnknownKey):
            await cache.key("k2")  # within min_refresh: not fetched again yet
        clock.now += 30
        assert (await cache.key("k2")).key.key_id == "k2"
        assert provider.fetches == 3

    asyncio.run(run())


def test_concurrent_requests_share_one_fetch() -> None:
    provider, clock = Provider(), Clock()
    cache = keys(provider, clock)

    async def run() -> None:
        await asyncio.gather(*(cache.key("k1") for _ in range(500)))

    asyncio.run(run())
    assert provider.fetches == 1


def test_a_failing_provider_keeps_the_keys_held() -> None:
    provider, clock = Provider(), Clock()
    cache = keys(provider, clock)

    async def run() -> None:
        await cache.key("k1")
        provider.down = True
        clock.now += 301
        assert (await cache.key("k1")).key.key_id == "k1"
        assert provider.fetches == 2

    asyncio.run(run())


def test_no_keys_ever_read_is_503_until_they_are() -> None:
    provider, clock = Provider(), Clock()
    provider.down = True
    cache = keys(provider, clock)

    async def run() -> None:
        with pytest.raises(JwksUnavailable) as caught:
            await cache.key("k1")
        assert caught.value.status == 503
        assert caught.value.headers() == {"Retry-After": "30"}
        with pytest.raises(JwksUnavailable):
            await cache.key("k1")
        assert provider.fetches == 1  # tried again only after min_refresh
        provider.down = False
        clock.now += 30
        assert (await cache.key("k1")).key.key_id == "k1"

    asyncio.run(run())


def test_a_file_is_read_once_and_a_token_without_kid_needs_a_single_key(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_bytes(orjson.dumps(identity.jwks("k1")))
    single = JwksKeys(file=path)
    assert asyncio.run(single.key(None)).key.key_id == "k1"
    path.write_bytes(orjson.dumps(identity.jwks("k1", "k2")))
    with pytest.raises(UnknownKey):
        asyncio.run(JwksKeys(file=path).key(None))


def test_encryption_keys_and_garbage_are_left_out() -> None:
    document = identity.jwks("k1", "k2")
    document["keys"][1]["use"] = "enc"
    assert set(parse_jwks(orjson.dumps(document))) == {"k1"}
    with pytest.raises(ValueError, match="not a usable JWKS"):
        parse_jwks(b"<html>")
    with pytest.raises(ValueError, match="not a usable JWKS"):
        parse_jwks(b'{"keys": []}')


def test_a_url_needs_a_fetch() -> None:
    with pytest.raises(ValueError, match="give a file, or a url and a fetch"):
        JwksKeys(url="https://id.test/jwks")
