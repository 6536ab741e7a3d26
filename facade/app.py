"""Build the ASGI app from the route table: one FastAPI route per mapping, plus health,
readiness and metrics. Errors anywhere become problem+json."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from facade import __version__
from facade.backends.http import HttpClient, HttpxClient
from facade.backends.legacy import LegacyBackend
from facade.errors import ClientError, FacadeError, RouteNotFound
from facade.guard import read_context
from facade.mapping.loader import load_mappings
from facade.observability import (
    REQUEST_ID_HEADER,
    Metrics,
    ObservabilityMiddleware,
    configure_logging,
)
from facade.openapi.contracts import build_contracts
from facade.openapi.document import openapi_document
from facade.pipeline import ServedRoute, handle
from facade.responses import BACKEND_HEADER, json_response, problem_response
from facade.routetable import RouteTable, build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry
from facade.translate.validate import ArgumentValidator

log = logging.getLogger("facade.app")


class _LazyHttp:
    """The HTTP client, created inside the server's event loop at startup."""

    def __init__(self, factory: Callable[[], HttpClient]) -> None:
        self._factory = factory
        self._client: HttpClient | None = None

    async def post(self, *args: Any, **kwargs: Any) -> Any:
        if self._client is None:
            self._client = self._factory()
        return await self._client.post(*args, **kwargs)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def create_app(
    table: RouteTable,
    registry: WsdlRegistry,
    settings: Settings | None = None,
    http_factory: Callable[[], HttpClient] = HttpxClient,
) -> FastAPI:
    """The facade for a compiled route table.

    table = build_route_table(load_mappings(Path("mappings")), registry)
    app = create_app(table, registry)
    """
    settings = settings or Settings()
    http = _LazyHttp(http_factory)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ready = True
        yield
        app.state.ready = False
        await http.aclose()

    app = FastAPI(title="Strangler facade", version=__version__, lifespan=lifespan)
    app.state.ready = False
    metrics = Metrics()
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    _add_error_handlers(app)
    _add_operational_routes(app, registry, metrics)
    contracts = build_contracts(table, registry)
    for compiled in table:
        validator = ArgumentValidator(contracts.routes[compiled.name].input, contracts.components)
        served = ServedRoute(compiled=compiled, legacy=LegacyBackend(compiled, http, validator))
        _add_route(app, served, settings)
    document = openapi_document(table, contracts, title=app.title)
    app.openapi = lambda: document  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and worker processes: settings from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    registry = WsdlRegistry(settings.wsdl_dir)
    table = build_route_table(load_mappings(settings.mappings_dir), registry)
    return create_app(table, registry, settings)


def _add_route(app: FastAPI, served: ServedRoute, settings: Settings) -> None:
    mapping = served.compiled.mapping
    name = served.name

    async def endpoint(request: Request) -> Response:
        request.state.route = name
        context = await read_context(request, name, settings.max_body_bytes)
        answer = await handle(served, context)
        request.state.side = answer.side
        return json_response(answer.body, answer.status, {BACKEND_HEADER: answer.side})

    # the OpenAPI document is built from the WSDLs (facade.openapi), not by FastAPI
    app.add_api_route(mapping.path, endpoint, methods=[mapping.method], name=name)


def _add_operational_routes(app: FastAPI, registry: WsdlRegistry, metrics: Metrics) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        wsdls = sorted(registry.loaded)
        ready = bool(request.app.state.ready)
        return json_response({"ready": ready, "wsdls": wsdls}, 200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _add_error_handlers(app: FastAPI) -> None:
    def render(request: Request, error: FacadeError) -> Response:
        return problem_response(error, request.state.request_id, request.url.path)

    async def facade_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FacadeError)  # noqa: S101 - registered for FacadeError only
        if exc.status >= 500:
            log.warning("backend failure: %s", exc.type, extra={"fields": {"status": exc.status}})
        return render(request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        if exc.status_code == 404:
            return render(request, RouteNotFound(f"No route matches {request.url.path}"))
        response = render(request, ClientError(str(exc.detail), status=exc.status_code))
        response.headers.update(exc.headers or {})  # e.g. the Allow header a 405 must carry
        return response

    async def validation_error(request: Request, exc: Exception) -> Response:
        return render(request, ClientError("The request is malformed", status=422))

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error")
        response = render(request, FacadeError())
        # Starlette answers this one outside ObservabilityMiddleware, which adds the id otherwise
        response.headers[REQUEST_ID_HEADER] = request.state.request_id
        return response

    app.add_exception_handler(FacadeError, facade_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)
