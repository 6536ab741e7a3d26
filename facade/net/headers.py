"""Which request headers may travel on to a backend.

Hop-by-hop headers describe one connection, not the request (RFC 9110 section 7.6.1);
`host` and `content-length` are the transport's to write. None of them is ever passed on,
whatever a mapping's allow-list says. A value holding CR, LF or NUL never leaves either:
it would end the header and start others (request smuggling toward the backend).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from facade.errors import InvalidHeader

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def is_hop_by_hop(name: str) -> bool:
    """True for a header that only one connection may carry (`proxy-*` included)."""
    lower = name.lower()
    return lower in HOP_BY_HOP or lower.startswith("proxy-")


def passed_on(headers: Mapping[str, str], allowed: Iterable[str]) -> dict[str, str]:
    """The allow-listed headers the client sent (names lower case), hop-by-hop ones never."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return {
        name: lowered[name]
        for name in (a.lower() for a in allowed)
        if name in lowered and not is_hop_by_hop(name)
    }


FORBIDDEN_IN_VALUES = frozenset("\r\n\0")


def checked(headers: Mapping[str, str]) -> Mapping[str, str]:
    """`headers` as they are, or InvalidHeader (400) naming the first whose value holds
    CR, LF or NUL: every header bound for a backend passes here."""
    for name, value in headers.items():
        if not FORBIDDEN_IN_VALUES.isdisjoint(value):
            raise InvalidHeader(name)
    return headers
