"""Inbound checks before any backend is called, in order: credentials -> principal (401,
403), the caller's rate limit (429), body size and syntax; then the request context.

Nothing reaches a backend without passing this one place. (Header limits and the drain of
refused bodies sit before it, for every path: facade/limits.py.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Scope

from facade.auth.authenticator import Authenticator
from facade.auth.jwks import JwksKeys, fetch_over
from facade.auth.policy import PUBLIC, BucketSpec, Requirement, bucket_for, requirement_for
from facade.auth.ratelimit import Decision, MemoryBuckets, RateLimiter
from facade.auth.tokens import TokenVerifier
from facade.config.loader import FacadeConfig
from facade.context import RequestContext
from facade.errors import (
    FieldProblem,
    InvalidRequest,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from facade.mapping.loader import RouteMapping
from facade.net.seam import Transport
from facade.types import JSON, Principal, RouteName

OVERSIZED_NUMBER = "is a number larger than JSON numbers carry here; send it as a string"
_OVERSIZED = object()


@dataclass(frozen=True)
class Admission:
    """What one route asks of its callers."""

    requirement: Requirement = PUBLIC
    bucket: BucketSpec | None = None
    """The caller's token bucket on this route; None: unlimited."""


@dataclass(frozen=True)
class Gate:
    """The process's authenticator and rate limiter; either may be absent (not configured)."""

    authenticator: Authenticator | None = None
    limiter: RateLimiter | None = None

    async def admit(
        self, request: Request, route: RouteName, admission: Admission
    ) -> tuple[Principal, Decision | None]:
        """The caller's principal and its take from the route's bucket, or the ClientError
        (401, 403, 429) that refuses it."""
        address = request.client.host if request.client else None
        principal = None
        if self.authenticator is not None:
            try:
                principal = await self.authenticator.admit(request.headers, admission.requirement)
            except Unauthorized:
                # a refused credential costs its address a token: guessing API keys or
                # replaying forged tokens is limited like any anonymous caller
                await self._take(route, admission, None, address)
                raise
        decision = await self._take(route, admission, principal, address)
        return principal, decision

    async def _take(
        self, route: RouteName, admission: Admission, principal: Principal, address: str | None
    ) -> Decision | None:
        if self.limiter is None or admission.bucket is None:
            return None
        return await self.limiter.take(route, admission.bucket, principal, address)


@dataclass(frozen=True)
class Inbound:
    """Everything the facade checks before a backend: the gate, the settings that say what
    each route asks of its callers, and the largest body accepted."""

    gate: Gate
    config: FacadeConfig
    max_body_bytes: int

    def admits_all(self, mapping: RouteMapping) -> bool:
        """True when the route asks nothing of its callers (public, no rate limit): only
        then may its cached answers be served before the gate (facade.cache.front)."""
        admission = self.admission(mapping)
        return admission.requirement == PUBLIC and admission.bucket is None

    def admission(self, mapping: RouteMapping) -> Admission:
        return admission_for(mapping, self.config)


def admission_for(mapping: RouteMapping, config: FacadeConfig) -> Admission:
    """What the route asks of its callers under the settings: the one rule the gate applies
    and the OpenAPI document describes."""
    auth, limits = config.auth, config.rate_limits
    return Admission(
        requirement_for(mapping.auth, auth.default if auth is not None else None),
        bucket_for(mapping.name, mapping.rate_limit, limits.routes, limits.default),
    )


def build_gate(config: FacadeConfig, network: Transport) -> Gate:
    """The authenticator and rate limiter the settings file configures (each may be absent);
    a JWKS URL is read through the network seam."""
    authenticator = None
    if config.auth is not None:
        tokens = None
        jwt = config.auth.jwt
        if jwt is not None:
            keys = JwksKeys(
                url=jwt.jwks_url,
                file=jwt.jwks_file,
                fetch=fetch_over(network) if jwt.jwks_url else None,
                refresh=jwt.refresh,
                min_refresh=jwt.min_refresh,
            )
            tokens = TokenVerifier(jwt, keys)
        authenticator = Authenticator(config.auth, tokens)
    # always there: a mapping's own rate_limit applies even when facade.yaml sets none, and
    # a route without a bucket never reaches it
    limiter = RateLimiter(MemoryBuckets(config.rate_limits.max_callers))
    return Gate(authenticator, limiter)


async def read_context(
    request: Request, route: RouteName, max_body_bytes: int, principal: Principal = None
) -> RequestContext:
    """The request as mapping expressions see it, or a ClientError saying what is wrong."""
    # most requests are GETs with no body: nothing to wait for from the server
    body = await _body(request, max_body_bytes) if has_body(request.scope) else None
    return scope_context(
        request.scope, route, request.state.request_id, request.path_params, body, principal
    )


def scope_context(
    scope: Scope,
    route: RouteName,
    request_id: str,
    path: Mapping[str, Any],
    body: JSON = None,
    principal: Principal = None,
) -> RequestContext:
    """The context of a request from its ASGI scope, its path parameters and its parsed body:
    the one way it is built, so a cache key made before routing equals one made after."""
    client = scope.get("client")
    return RequestContext(
        route=route,
        request_id=request_id,
        path={k: str(v) for k, v in path.items()},
        query=_query(scope.get("query_string", b"")),
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        body=body,
        client={"ip": client[0]} if client else {},
        principal=principal,
    )


def has_body(scope: Scope) -> bool:
    """The request announces a body (a length other than 0, or chunks)."""
    for name, value in scope.get("headers", ()):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _query(raw: bytes) -> dict[str, str | list[str]]:
    query: dict[str, str | list[str]] = {}
    if not raw:
        return query
    params = QueryParams(raw)
    for key in params:
        values = params.getlist(key)
        query[key] = values[0] if len(values) == 1 else values
    return query


async def _body(request: Request, limit: int) -> JSON:
    declared = request.headers.get("content-length")
    if declared is not None and declared_too_large(declared, limit):
        raise PayloadTooLarge(f"The body has {declared} bytes; at most {limit} are accepted")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body has more than {limit} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        return None
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Content-Type is {media_type!r}; send application/json")
    return _parse_json(raw)


def declared_too_large(declared: str, limit: int) -> bool:
    """True when a Content-Length header states more than `limit`. Compared by length first:
    int() refuses 4,300 digits and more, and some characters isdigit() admits ('²')."""
    if not (declared.isascii() and declared.isdigit()):
        return False
    digits = declared.lstrip("0")
    return len(digits) > len(str(limit)) or int(digits or "0") > limit


def _parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        problems = _oversized_numbers(raw) or [
            FieldProblem("body", f"is not valid JSON: {exc.msg} at position {exc.pos}")
        ]
        raise InvalidRequest(problems) from exc


def _oversized_numbers(raw: bytes) -> list[FieldProblem]:
    """The places of numbers no float can hold, when that is why orjson refused the body.

    orjson reads integers beyond 64 bits as floats and refuses numbers beyond the largest
    float; the client should learn which field to send as a string instead.
    """
    try:
        document = json.loads(raw.decode("utf-8"), parse_int=_oversized, parse_float=_oversized)
    except (ValueError, RecursionError):
        return []
    return [FieldProblem(field, OVERSIZED_NUMBER) for field in _places(document, _OVERSIZED)]


def _oversized(text: str) -> object:
    return _OVERSIZED if math.isinf(float(text)) else None


def _places(document: Any, marker: object) -> list[str]:
    """Fields (`body.items[2].id`) whose value is `marker`, walked without recursion."""
    found: list[str] = []
    stack: list[tuple[str, Any]] = [("body", document)]
    while stack:
        field, value = stack.pop()
        if value is marker:
            found.append(field)
        elif isinstance(value, dict):
            stack.extend((f"{field}.{k}", v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{field}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return found
