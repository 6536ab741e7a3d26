"""Cache keys: everything that can change an answer, and nothing a caller could use to read
another caller's entry."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from facade.context import RequestContext

CREDENTIAL_HEADERS = ("authorization", "cookie", "x-api-key", "api-key")
"""Headers that say who the caller is: their hash joins the key unless the route is public
(or, when the request was authenticated, the principal's identity does instead)."""


@dataclass(frozen=True)
class KeyReads:
    """What of the request, beyond path, query and body, a route's answer depends on."""

    headers: tuple[str, ...] = ()
    """Header names (lower case) the expressions read or the mapping varies on."""
    all_headers: bool = False
    """An expression reads `headers` as a whole: every header is part of the key."""
    client: bool = False
    """An expression reads the connection's address."""
    public: bool = False
    """The answer is the same for every caller: credentials stay out of the key."""
    principal: bool = False
    """An expression reads the principal: its identity is in the key, public or not."""


def key_reads(
    expressions: Iterable[Mapping[str, Any]], vary: Iterable[str], public: bool
) -> KeyReads:
    """The headers and client fields that a route's compiled expressions (JMESPath ASTs)
    read, so a route fed by a header varies on it without anyone declaring it."""
    names = {name.lower() for name in vary}
    whole = client = principal = False
    for tree in expressions:
        found, everything, reads_client, reads_principal = _reads(tree)
        names |= found
        whole = whole or everything
        client = client or reads_client
        principal = principal or reads_principal
    return KeyReads(tuple(sorted(names)), whole, client, public, principal)


def _reads(tree: Mapping[str, Any]) -> tuple[set[str], bool, bool, bool]:
    names: set[str] = set()
    whole = client = principal = False
    for node, parent_pair in _walk(tree):
        if node.get("type") != "field":
            continue
        if node.get("value") == "client":
            client = True
        if node.get("value") == "principal":
            principal = True
        if node.get("value") != "headers":
            continue
        if parent_pair is not None and parent_pair.get("type") == "field":
            names.add(str(parent_pair["value"]).lower())
        else:
            whole = True
    return names, whole, client, principal


def _walk(
    tree: Mapping[str, Any],
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any] | None]]:
    """Every node, with the node that follows it in a `a.b` subexpression (or None)."""
    children = tree.get("children") or []
    following: Mapping[str, Any] | None = None
    yield tree, None
    for index, child in enumerate(children):
        if not isinstance(child, Mapping):
            continue
        is_pair = tree.get("type") == "subexpression" and index == 0 and len(children) > 1
        following = children[1] if is_pair else None
        for node, pair in _walk(child):
            yield node, (following if node is child else pair)


def cache_key(
    route: str,
    mode: str,
    side: str,
    context: RequestContext,
    reads: KeyReads,
    revision: str = "",
) -> str:
    """A digest of the route and its revision, the serving side and mode, the normalised
    request and the caller's identity (hashed: a credential is never stored)."""
    parts: dict[str, Any] = {
        "route": route,
        "revision": revision,
        "mode": mode,
        "side": side,
        "path": context.path,
        "query": context.query,
        "body": context.body,
        "headers": _headers(context.headers, reads),
        "client": context.client if reads.client else None,
        "caller": None if reads.public and not reads.principal else caller(context),
    }
    encoded = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(encoded).hexdigest()


def _headers(headers: Mapping[str, str], reads: KeyReads) -> Mapping[str, str | None]:
    if reads.all_headers:
        return headers
    return {name: headers.get(name) for name in reads.headers}


def caller(context: RequestContext) -> str | None:
    """Who the entry belongs to: the authenticated principal when there is one (so two
    tokens of one user share entries, and two users never do), else the credentials."""
    principal = context.principal
    if principal is not None:
        return "principal:" + str(principal.get("via")) + ":" + str(principal.get("sub"))
    return identity(context.headers)


def identity(headers: Mapping[str, str]) -> str | None:
    """A hash of the caller's credentials, or None for an anonymous request."""
    sent = [(name, headers[name]) for name in CREDENTIAL_HEADERS if name in headers]
    if not sent:
        return None
    return hashlib.sha256(orjson.dumps(sent)).hexdigest()
