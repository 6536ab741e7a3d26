"""Build the ASGI app from the route table: one route per path (its methods are the mappings
that share it), plus health, readiness, metrics and the docs. Errors anywhere become
problem+json."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from facade import __version__
from facade.admin.routes import add_admin_routes
from facade.backends.base import Backend, BackendReply
from facade.backends.handler import HandlerBackend, handler_threads
from facade.backends.legacy import LegacyBackend
from facade.backends.new import NewBackend
from facade.backends.translator import LoopTranslator, ProcessTranslator, Translator
from facade.cache.keys import KeyReads, key_reads
from facade.cache.step import ResponseCache
from facade.cache.store import MemoryStore
from facade.compression import CODECS, Codec, Compressor, Kept
from facade.contracts.conformance import ResponseConformance
from facade.docs import add_docs_routes
from facade.errors import ClientError, FacadeError, MethodNotAllowed, RouteNotFound
from facade.guard import read_context
from facade.mapping.loader import load_mappings
from facade.migration.records import ShadowRecords
from facade.migration.shadow import ShadowJob, ShadowRunner
from facade.net import HttpTransport, Transport
from facade.net.seam import origin
from facade.observability import (
    REQUEST_ID_HEADER,
    UNMATCHED,
    Metrics,
    ObservabilityMiddleware,
    configure_logging,
)
from facade.openapi.document import openapi_document
from facade.pacing import Pacer, PacingMiddleware
from facade.paths import RESERVED_PATHS
from facade.pipeline import Failure, Outcome, ServedRoute, serve
from facade.responses import (
    BACKEND_HEADER,
    encoded_json_response,
    json_response,
    problem_response,
)
from facade.routetable import CompiledNew, CompiledRoute, RouteTable, build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

log = logging.getLogger("facade.app")

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def create_app(
    table: RouteTable,
    registry: WsdlRegistry,
    settings: Settings | None = None,
    transport: Transport | None = None,
    translator: Translator | None = None,
    pacer: Pacer | None = None,
    codecs: Mapping[str, Codec] = CODECS,
) -> FastAPI:
    """The facade for a compiled route table.

    table = build_route_table(load_mappings(Path("mappings")), registry)
    app = create_app(table, registry)                       # real network
    app = create_app(table, registry, transport=MemoryTransport(handler))   # no sockets

    Replies are translated on the event loop unless a `translator` says otherwise
    (`app_from_env` gives large ones to a child process). Answers are compressed for the
    clients that accept it, as the settings say, by `codecs` (tests count their calls).
    """
    settings = settings or Settings()
    network = transport or HttpTransport(settings.backend_connections)
    pacer = pacer or Pacer()  # one per app: a translator on the loop takes its turns too
    replies = translator or LoopTranslator(pacer)
    threads = handler_threads()
    metrics = Metrics()
    cache = _response_cache(settings, metrics)
    compressor = Compressor(
        settings.compress_min_bytes, settings.compress, store=cache.store, codecs=codecs
    )
    shadows = ShadowRunner(
        ShadowRecords(), metrics.shadowed, settings.shadow_queue, settings.shadow_concurrency
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if isinstance(network, HttpTransport):
                network.open(_origins(table))
            await replies.start()
            await shadows.start()
            app.state.ready = True
            yield
        finally:  # pools, shadows and the translator go, also when startup itself failed
            app.state.ready = False
            await shadows.aclose()
            await network.aclose()
            await replies.aclose()
            threads.shutdown(wait=False, cancel_futures=True)
            compressor.close()

    app = FastAPI(
        title="Strangler facade",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # facade/docs.py serves the docs pages without a CDN
        redoc_url=None,
    )
    app.state.ready = False
    app.state.shadow_records = shadows.records  # what the admin API shows
    app.add_middleware(PacingMiddleware, pacer=pacer, exempt=RESERVED_PATHS)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)  # outermost: sees the wait
    _add_error_handlers(app)
    _add_operational_routes(app, registry, metrics)
    if settings.admin_token:  # off by default: /admin/* is then a 404 like any unknown path
        add_admin_routes(app, settings.admin_token, table, metrics, shadows.records)
    add_docs_routes(app)
    served = [_served(compiled, table, network, replies, threads, cache) for compiled in table]
    for path, by_method in _by_path(served).items():
        endpoint = _PathEndpoint(by_method, settings, metrics, shadows, compressor)
        app.router.routes.append(Route(path, endpoint))
    document = openapi_document(table, table.contracts, title=app.title)
    app.openapi = lambda: document  # type: ignore[method-assign]
    return app


def _response_cache(settings: Settings, metrics: Metrics) -> ResponseCache:
    """The app's cache, each request's result counted with the store's bytes and evictions."""
    store = MemoryStore(settings.cache_bytes)

    def observe(route: str, result: str) -> None:
        metrics.cached(route, result, store.used, store.evictions)

    return ResponseCache(store, observe=observe)


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` and worker processes: settings from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    registry = WsdlRegistry(settings.wsdl_dir)
    table = build_route_table(load_mappings(settings.mappings_dir), registry)
    pacer = Pacer()
    translator = ProcessTranslator(settings, pacer)
    return create_app(table, registry, settings, translator=translator, pacer=pacer)


def _served(
    compiled: CompiledRoute,
    table: RouteTable,
    network: Transport,
    replies: Translator,
    threads: Executor,
    cache: ResponseCache,
) -> ServedRoute:
    """One route with its backends: legacy always, new when the mapping names it (and then
    the check of its answers against the route's documented response, when typed)."""
    legacy = LegacyBackend(compiled, network, replies)
    new = table.new_sides.get(compiled.name)
    contract = table.contracts.routes[compiled.name]
    conformance = None
    if new is not None and contract.response_typed:
        conformance = ResponseConformance(contract.response, table.contracts.components)
    return ServedRoute(
        compiled,
        table.validators[compiled.name],
        legacy,
        new=_new_backend(new, compiled.mapping.status, network, threads) if new else None,
        conformance=conformance,
        cache=cache,
        cache_reads=_cache_reads(compiled),
    )


def _cache_reads(compiled: CompiledRoute) -> KeyReads:
    """What the route's cache key holds: the headers its expressions read, those it varies
    on and those passed to a new service; a handler may read any header, so all of them."""
    mapping = compiled.mapping
    passed = mapping.new.headers if mapping.new is not None else ()
    reads = key_reads(
        [source.expression.parsed for source in compiled.arguments],
        (*mapping.cache.vary, *passed),
        mapping.cache.public,
    )
    if mapping.new is not None and mapping.new.handler is not None:
        return replace(reads, all_headers=True)
    return reads


def _new_backend(new: CompiledNew, status: int, network: Transport, threads: Executor) -> Backend:
    if new.handler is not None:
        return HandlerBackend(new.handler, new.binding.timeout, new.response, status, threads)
    assert new.template is not None  # noqa: S101 - the route table holds one or the other
    return NewBackend(new.binding, new.template, new.response, status, network)


def _origins(table: RouteTable) -> list[str]:
    """Every backend origin the routes call, so their pools exist before the first request."""
    legacy = [route.address for route in table]
    new = [n.template.origin for n in table.new_sides.values() if n.template is not None]
    return legacy + new


def _by_path(served: list[ServedRoute]) -> dict[str, dict[str, ServedRoute]]:
    """Routes grouped by path, in the table's order (literal segments before parameters).

    A path is one resource: once its template matches, the method picks the route or the
    answer is 405 listing every method of that path; a request never falls through to a
    less specific path because of its method.
    """
    paths: dict[str, dict[str, ServedRoute]] = {}
    for route in served:
        paths.setdefault(route.compiled.mapping.path, {})[route.compiled.mapping.method] = route
    return paths


class _PathEndpoint:
    """Serves every method of one path (an ASGI app, so Starlette hands it all methods)."""

    def __init__(
        self,
        by_method: dict[str, ServedRoute],
        settings: Settings,
        metrics: Metrics,
        shadows: ShadowRunner,
        compressor: Compressor,
    ) -> None:
        self.by_method = by_method
        self.compressor = compressor
        self.settings = settings
        self.metrics = metrics
        self.shadows = shadows
        methods = set(by_method) | ({"HEAD"} if "GET" in by_method else set())
        self.allowed = tuple(m for m in METHOD_ORDER if m in methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response, shadow = await self.respond(request)
        await response(scope, receive, send)
        if shadow is not None:  # the client has its answer; the comparison runs later
            self.shadows.submit(shadow)

    async def respond(self, request: Request) -> tuple[Response, ShadowJob | None]:
        # HEAD is GET without a body; the server drops the body
        served = self.by_method.get("GET" if request.method == "HEAD" else request.method)
        if served is None:
            refused = Failure(MethodNotAllowed(request.method, self.allowed))
            return _render(request, refused), None
        request.state.route = served.name
        try:
            context = await read_context(request, served.name, self.settings.max_body_bytes)
        except FacadeError as exc:
            return _render(request, Failure(exc)), None
        outcome, shadow = await serve(served, context)
        if outcome.side == "legacy-fallback":
            self.metrics.fallbacks.labels(served.name).inc()
            fields = {"route": served.name, "side": "new"}
            log.warning("new side failed; legacy answers instead", extra={"fields": fields})
        if isinstance(outcome, BackendReply) and outcome.violations:
            _report_violations(served, outcome, self.metrics)
        if isinstance(outcome, Failure):
            return _render(request, outcome, _failed_origin(served, outcome)), shadow
        return await self.answer(request, served, outcome), shadow

    async def answer(self, request: Request, served: ServedRoute, reply: BackendReply) -> Response:
        """The backend's answer, a 304 when the client holds it already, compressed when
        the client accepts it; X-Facade-Backend names the side that gave it."""
        request.state.side = reply.side
        tag, ttl = reply.headers.get("etag"), served.compiled.mapping.cache.ttl
        kept = Kept(tag, served.name, reply.side, ttl) if tag and ttl and served.cache else None
        headers = {**reply.headers, BACKEND_HEADER: reply.side}
        sent = await self.compressor.represent(
            request.method, reply.status, reply.encoded, headers, request.headers, kept
        )
        if sent.status == 304:
            return Response(status_code=304, headers=sent.headers)
        return encoded_json_response(sent.body, sent.status, sent.headers)


def _failed_origin(served: ServedRoute, outcome: Outcome) -> str | None:
    """The origin of the backend that failed, for the log line; None for a handler."""
    if not isinstance(outcome, Failure) or outcome.side is None:
        return None
    if outcome.side in ("legacy", "legacy-fallback"):
        return origin(served.compiled.address)
    if isinstance(served.new, NewBackend):
        return origin(served.new.template.origin)  # scheme, host, port: never credentials
    return None


def _report_violations(served: ServedRoute, reply: BackendReply, metrics: Metrics) -> None:
    """Count and log an answer that breaks the route's documented response; it is sent."""
    metrics.contract_violations.labels(served.name, reply.side).inc()
    places = [{"pointer": v.pointer, "message": v.message} for v in reply.violations]
    fields = {"route": served.name, "side": reply.side, "violations": places}
    log.warning("answer breaks the route's response schema", extra={"fields": fields})


def _render(request: Request, outcome: Failure, backend: str | None = None) -> Response:
    """A failure as problem+json; X-Facade-Backend only when a backend failed.

    A backend failure is logged with the backend's origin (scheme, host and port: never the
    credentials or the path of its address)."""
    error, side = outcome.error, outcome.side
    request.state.side = side or UNMATCHED
    if error.status >= 500:
        fields = {"status": error.status, "side": side or UNMATCHED}
        if side is not None and backend is not None:
            fields["origin"] = backend
        log.warning("backend failure: %s", error.type, extra={"fields": fields})
    return problem_response(error, request.state.request_id, request.url.path, side)


def _add_operational_routes(app: FastAPI, registry: WsdlRegistry, metrics: Metrics) -> None:
    """Health, readiness and metrics: plain Starlette routes (GET and HEAD), no validation
    layer in front of them, so they stay cheap while the facade is busy."""

    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(request: Request) -> Response:
        wsdls = sorted(registry.loaded)
        ready = bool(request.app.state.ready)
        return json_response({"ready": ready, "wsdls": wsdls}, 200 if ready else 503)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_route("/readyz", readyz, methods=["GET"], include_in_schema=False)
    app.add_route("/metrics", metrics_endpoint, methods=["GET"], include_in_schema=False)


def _add_error_handlers(app: FastAPI) -> None:
    def render(request: Request, error: FacadeError) -> Response:
        return problem_response(error, request.state.request_id, request.url.path)

    async def facade_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FacadeError)  # noqa: S101 - registered for FacadeError only
        return render(request, exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)  # noqa: S101
        if exc.status_code == 404:
            return render(request, RouteNotFound(f"No route matches {request.url.path}"))
        if exc.status_code == 405:  # the facade's own routes (/healthz, /metrics...)
            allowed = {m.strip() for m in (exc.headers or {}).get("Allow", "GET").split(",")}
            methods = tuple(m for m in METHOD_ORDER if m in allowed)
            return render(request, MethodNotAllowed(request.method, methods))
        response = render(request, ClientError(str(exc.detail), status=exc.status_code))
        response.headers.update(exc.headers or {})
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
