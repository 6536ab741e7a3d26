"""Inbound checks before any backend is called: body size, body syntax; the request context.

Authentication and rate limits will stand here too, so that nothing reaches a backend
without passing one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Scope

from facade.context import RequestContext
from facade.errors import FieldProblem, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from facade.types import JSON, RouteName

OVERSIZED_NUMBER = "is a number larger than JSON numbers carry here; send it as a string"
_OVERSIZED = object()


async def read_context(request: Request, route: RouteName, max_body_bytes: int) -> RequestContext:
    """The request as mapping expressions see it, or a ClientError saying what is wrong."""
    body = await _body(request, max_body_bytes)
    return scope_context(request.scope, route, request.state.request_id, request.path_params, body)


def scope_context(
    scope: Scope, route: RouteName, request_id: str, path: Mapping[str, Any], body: JSON = None
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
