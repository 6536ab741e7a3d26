"""Inbound checks before any backend is called: body size, body syntax; the request context.

Authentication and rate limits will stand here too, so that nothing reaches a backend
without passing one place.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from facade.context import RequestContext
from facade.errors import FieldProblem, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from facade.types import JSON, RouteName


async def read_context(request: Request, route: RouteName, max_body_bytes: int) -> RequestContext:
    """The request as mapping expressions see it, or a ClientError saying what is wrong."""
    return RequestContext(
        route=route,
        request_id=request.state.request_id,
        path={k: str(v) for k, v in request.path_params.items()},
        query=_query(request),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await _body(request, max_body_bytes),
    )


def _query(request: Request) -> dict[str, str | list[str]]:
    query: dict[str, str | list[str]] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        query[key] = values[0] if len(values) == 1 else values
    return query


async def _body(request: Request, limit: int) -> JSON:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
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


def _parse_json(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(
            [FieldProblem("body", f"is not valid JSON: {exc.msg} at position {exc.pos}")],
        ) from exc
