"""The stack's ceiling: a bare Starlette endpoint answering 1 KB of bytes, under the same
uvicorn as the facade. A benchmark baseline.

    uvicorn --app-dir bench bare:app --port 8091
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = b'{"data":"' + b"x" * 1013 + b'"}'


async def bare(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/bare", bare)])
