"""The API docs pages, /docs (Swagger UI) and /redoc (ReDoc), served with their scripts and
styles from the facade itself, so they work where no CDN can be reached (a VPN, an air gap).

The assets come from the `fastapi-offline` package, which bundles released Swagger UI and
ReDoc builds; nothing of them is copied into this tree. `GET /` points to /docs.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from facade.paths import DOCS_ASSETS

ASSETS_URL = "/docs/assets"
Endpoint = Callable[[Request], Awaitable[Response]]


def assets_dir() -> Path:
    """The folder of the bundled assets inside the installed `fastapi_offline` package."""
    return Path(str(files("fastapi_offline") / "static"))


def add_docs_routes(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    """Serve /docs, /redoc, their assets and a redirect from / on `app`.

    Build `app` with `docs_url=None, redoc_url=None`, so FastAPI adds no CDN-backed pages.
    """
    title = app.title

    async def swagger(request: Request) -> Response:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API docs",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    async def redoc(request: Request) -> Response:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - API reference",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    async def root(request: Request) -> Response:
        return RedirectResponse("/docs", status_code=307)

    app.add_route("/", root, methods=["GET"], include_in_schema=False)
    app.add_route("/docs", swagger, methods=["GET"], include_in_schema=False)
    app.add_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    for name in DOCS_ASSETS:
        path = f"{ASSETS_URL}/{name}"
        app.add_route(path, _asset(assets_dir() / name), methods=["GET"], include_in_schema=False)


def _asset(file: Path) -> Endpoint:
    """An endpoint answering one bundled file; a missing one fails at startup, not per request."""
    if not file.is_file():
        raise FileNotFoundError(f"{file} is missing: reinstall the fastapi-offline package")
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"

    async def endpoint(request: Request) -> Response:
        return FileResponse(file, media_type=media_type)

    return endpoint
