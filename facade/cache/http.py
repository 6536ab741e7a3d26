"""What the client sees of the cache: X-Facade-Cache, ETag, Age and max-age, 304s."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping

CACHE_HEADER = "x-facade-cache"


def etag(encoded: bytes) -> str:
    """A strong validator: the same bytes, the same tag, in every worker."""
    return '"' + hashlib.sha256(encoded).hexdigest()[:32] + '"'


def hit_headers(tag: str, age: float, remaining: float) -> dict[str, str]:
    """Age in whole seconds elapsed, max-age in whole seconds left (never negative)."""
    return {
        CACHE_HEADER: "hit",
        "etag": tag,
        "age": str(max(0, int(age))),
        "cache-control": f"max-age={max(0, math.floor(remaining))}",
    }


def wants_bypass(headers: Mapping[str, str]) -> bool:
    """The client asked for a fresh answer (`Cache-Control: no-cache`)."""
    directives = headers.get("cache-control", "").lower().split(",")
    return any(d.strip() == "no-cache" for d in directives)


def not_modified(if_none_match: str | None, tag: str | None) -> bool:
    """`If-None-Match` names the answer's tag (or `*`): a 304 with no body will do."""
    if not if_none_match or tag is None:
        return False
    sent = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in sent or tag in sent
