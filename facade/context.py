"""The request as the mapping expressions see it: `{path, query, headers, body, client,
principal}`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from facade.types import JSON, Principal, RouteName

REQUEST_ID_HEADER = "x-request-id"
"""The one name of the request id header: read from clients, returned, sent to backends."""


@dataclass(frozen=True)
class RequestContext:
    """Everything a backend may read from the client's request.

    Query parameters given once are strings, given several times lists. Header names are
    lower case, so a mapping reads them as `headers."x-user-id"` (JMESPath quotes names
    with dashes). `client.ip` is the address of the connection's peer as the server saw it;
    X-Forwarded-For is never read, since any client can send it.
    """

    route: RouteName
    request_id: str
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str | list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: JSON = None
    client: dict[str, str] = field(default_factory=dict)
    """`{"ip": ...}` when the server knows the peer's address; empty otherwise."""
    principal: Principal = None
    """Who the credentials say the caller is (`{sub, scopes, via, claims}`); None when
    anonymous or when no authentication is configured."""

    def expression_data(self) -> dict[str, Any]:
        """The object every JMESPath expression of a mapping is evaluated over."""
        return {
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "client": self.client,
            "principal": self.principal,
        }
