"""Route paths: parameters, matching order, overlap.

`facade check`, `facade scaffold` and the router all ask the same questions of a path
template such as `/v1/customers/{id}`, so the answers live here and nowhere else:

    overlaps("/v1/customers/search", "/v1/customers/{id}")   # True: one request fits both
    ambiguous("/v1/customers/search", "/v1/customers/{id}")  # False: the literal wins
    ambiguous("/customers/{id}", "/customers/{key}")         # True: nothing decides
    ambiguous("/a/{x}/c", "/a/b/{y}")                        # True: /a/b/c fits both

A parameter stands for exactly one non-empty segment, as Starlette's default convertor does.
"""

from __future__ import annotations

import re

Segment = str | None
"""A literal segment, or None for a `{parameter}`."""

DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
"""The files the API docs pages load, served under /docs/assets/ (see facade/docs.py)."""

RESERVED_PATHS = (
    *("/healthz", "/readyz", "/metrics"),  # the facade's own routes
    # the admin API's GET paths (served only when an admin token is set)
    *("/admin/status", "/admin/flags", "/admin/history"),
    *("/", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"),  # the API docs
    *(f"/docs/assets/{name}" for name in DOCS_ASSETS),
)
"""Paths the facade serves itself with GET; no mapping may take a GET one of them could match."""
RESERVED_PREFIX = "admin"
"""First path segment kept for the admin API: no mapping's path may start with it, whatever
its method, so admin endpoints added later cannot collide with a route."""

_PARAMETER = r"\{([A-Za-z_][A-Za-z0-9_]*)\}"
_PARAMETER_SEGMENT = re.compile(rf"^{_PARAMETER}$")
_LITERAL_SEGMENT = re.compile(r"^[A-Za-z0-9._~\-]+$")


def is_template(path: str) -> bool:
    """True for `/` or `/`-separated plain segments and whole-segment `{parameters}`."""
    if path == "/":
        return True
    if not path.startswith("/"):
        return False
    parts = path[1:].split("/")
    return all(_LITERAL_SEGMENT.match(p) or _PARAMETER_SEGMENT.match(p) for p in parts)


def segments(path: str) -> tuple[Segment, ...]:
    """`/v1/customers/{id}` -> ('v1', 'customers', None); `/` -> ()."""
    inner = path.strip("/")
    if not inner:
        return ()
    return tuple(None if _PARAMETER_SEGMENT.match(s) else s for s in inner.split("/"))


def path_parameters(path: str) -> tuple[str, ...]:
    """Names of the `{name}` segments of a route path, in order."""
    return tuple(re.findall(_PARAMETER, path))


def sort_key(path: str) -> tuple[bool, ...]:
    """Orders paths so that literal segments come before parameters, left to right.

    Routers that try routes in order (Starlette does) then let `/customers/search`
    win over `/customers/{id}`. Paths with the same pattern compare equal, so a stable
    sort keeps their given order.
    """
    return tuple(s is None for s in segments(path))


def overlaps(a: str, b: str) -> bool:
    """True when one request path could match both templates."""
    x, y = segments(a), segments(b)
    return len(x) == len(y) and all(
        p is None or q is None or p == q for p, q in zip(x, y, strict=True)
    )


def dominates(a: str, b: str) -> bool:
    """True when `a` wins over `b` wherever both match: it is literal at least where `b` is,
    and literal somewhere `b` has a parameter."""
    x, y = segments(a), segments(b)
    if len(x) != len(y):
        return False
    pairs = list(zip(x, y, strict=True))
    return all(p == q or q is None for p, q in pairs) and any(
        p is not None and q is None for p, q in pairs
    )


def ambiguous(a: str, b: str) -> bool:
    """True when a request could match both and neither template is the more specific."""
    return overlaps(a, b) and not dominates(a, b) and not dominates(b, a)
