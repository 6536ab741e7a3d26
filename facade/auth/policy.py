"""What a route asks of its callers, as plain values: the requirement and the bucket.

A mapping may say `auth: public` or `auth: {scopes: [...]}` and `rate_limit: {rate, burst}`;
facade.yaml gives the defaults and per-route overrides. The rules that pick one live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from facade.types import RouteName


@dataclass(frozen=True)
class Requirement:
    """Who may call a route: anyone (`public`), or an authenticated caller holding every
    one of `scopes` (none: any authenticated caller)."""

    public: bool = False
    scopes: tuple[str, ...] = ()


PUBLIC = Requirement(public=True)


@dataclass(frozen=True)
class BucketSpec:
    """A token bucket: `rate` requests per second refilled, `burst` at once.

    BucketSpec(rate=5, burst=10)   # 10 at once, then 5 per second
    """

    rate: float
    burst: int


RouteLimit = BucketSpec | Literal["off"] | None
"""A route's own rate limit: a bucket, `off`, or None when it says nothing."""


def requirement_for(declared: Requirement | None, default: Requirement | None) -> Requirement:
    """The route's requirement: its own, else the settings' default; with no
    authentication configured (`default` None) every route is public, as before."""
    if default is None:
        return PUBLIC
    return declared if declared is not None else default


def bucket_for(
    route: RouteName,
    declared: RouteLimit,
    overrides: Mapping[RouteName, BucketSpec | Literal["off"]],
    default: BucketSpec | None,
) -> BucketSpec | None:
    """The route's bucket: facade.yaml's entry for it wins (operators tune it without
    editing mappings), then the mapping's, then the default; None is unlimited."""
    chosen = overrides.get(route, declared)
    if chosen == "off":
        return None
    return chosen if chosen is not None else default
