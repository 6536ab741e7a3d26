"""Which side serves one request: sticky canary bucketing and the fallback rule.

Pure functions over plain values. A caller's bucket comes from a stable hash of the route
name and the caller's sticky key, so every process and every replica agrees on it:

    bucket("get-customer", "u-42")          # 0..9999, the same everywhere, every time
    side_for("canary", 10, "get-customer", "u-42")   # "new" when the bucket is below 1000

Raising the percentage only moves callers from legacy to new (their bucket stays, the
threshold grows); lowering it only moves them back.
"""

from __future__ import annotations

import hashlib

import orjson

from facade.types import JSON, Mode, RouteName, ServedBy, Side

BUCKETS = 10_000
"""Buckets per route: a percentage is honoured to 0.01."""
DEFAULT_STICKY = "client.ip"
"""The caller is its network address unless the mapping names a sticky expression."""


def bucket(route: RouteName, key: str) -> int:
    """The caller's bucket, 0 to BUCKETS - 1. Python's hash() is salted per process, so a
    hashlib digest is used: the route name keeps buckets independent between routes."""
    digest = hashlib.blake2b(route.encode() + b"\0" + key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def threshold(percent: float) -> int:
    """How many buckets go to new: rounded once, so it only grows with the percentage."""
    return round(percent * BUCKETS / 100)


def sticky_key(value: JSON) -> str | None:
    """The sticky expression's value as a key; None (no key) for null or an empty string.
    Non-string values are keyed by their canonical JSON, so 7 and "7" differ."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def side_for(mode: Mode, percent: float, route: RouteName, key: str | None) -> Side:
    """The side that serves: by mode, and in canary by the caller's bucket. A caller
    without a key cannot be kept sticky, so it stays on legacy."""
    if mode == "new":
        return "new"
    if mode != "canary" or key is None:
        return "legacy"
    return "new" if bucket(route, key) < threshold(percent) else "legacy"


def may_fall_back(fallback: bool, failed: ServedBy | None, status: int) -> bool:
    """True when a failure should be answered by legacy instead: the route allows it and
    the new side failed on its own (5xx, timeout, no connection), not with a 4xx that it
    meant for the client, and not the facade refusing the request."""
    return fallback and failed == "new" and status >= 500
