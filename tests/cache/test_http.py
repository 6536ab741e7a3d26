"""The cache's HTTP vocabulary: validators, bypass requests, hit headers."""

from __future__ import annotations

from facade.cache.http import etag, hit_headers, not_modified, wants_bypass


def test_etag_is_strong_and_follows_the_bytes() -> None:
    assert etag(b"{}") == etag(b"{}")
    assert etag(b"{}") != etag(b"[]")
    assert etag(b"{}").startswith('"') and not etag(b"{}").startswith("W/")


def test_if_none_match_forms() -> None:
    tag = etag(b"{}")
    assert not_modified(tag, tag)
    assert not_modified(f'"a", {tag}', tag)
    assert not_modified(f"W/{tag}", tag)
    assert not_modified("*", tag)
    assert not not_modified('"a"', tag)
    assert not not_modified(None, tag)
    assert not not_modified(tag, None)


def test_no_cache_among_other_directives() -> None:
    assert wants_bypass({"cache-control": "max-age=0, No-Cache"})
    assert not wants_bypass({"cache-control": "no-store"})
    assert not wants_bypass({})


def test_hit_headers_never_negative() -> None:
    headers = hit_headers('"t"', age=-0.5, remaining=-2)
    assert headers["age"] == "0"
    assert headers["cache-control"] == "max-age=0"
    assert headers["x-facade-cache"] == "hit"
