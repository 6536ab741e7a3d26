"""JSON and RFC 9457 problem+json responses, encoded once with orjson."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from facade.errors import FacadeError
from facade.translate.response import encode_json
from facade.types import JSON

PROBLEM_MEDIA_TYPE = "application/problem+json"
BACKEND_HEADER = "X-Facade-Backend"


def json_response(
    body: JSON, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return encoded_json_response(encode_json(body), status, headers)


def encoded_json_response(
    encoded: bytes, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(encoded, status_code=status, headers=headers, media_type="application/json")


def problem_body(error: FacadeError, request_id: str, instance: str) -> dict[str, Any]:
    """The problem document: the error's public message only, never a stack or backend body."""
    body: dict[str, Any] = {
        "type": error.type,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        "request_id": request_id,
    }
    body.update(error.extensions())
    return body


def problem_response(
    error: FacadeError, request_id: str, instance: str, side: str | None = None
) -> Response:
    """The error as problem+json, with the headers it owns and, when a backend failed, which."""
    headers = error.headers()
    if side is not None:
        headers[BACKEND_HEADER] = side
    return Response(
        orjson.dumps(problem_body(error, request_id, instance)),
        status_code=error.status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )
