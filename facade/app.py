"""Build the ASGI app from the route table: one route per path (its methods are the mappings
that share it), plus health, readiness, metrics and the docs. Errors anywhere become
problem+json."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import Executor
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from facade import __version__, heap
from facade.admin.routes import ADMIN_PREFIX, add_admin_routes
from facade.backends.base import Backend, BackendReply
from facade.backends.handler import HandlerBackend, handler_threads
from facade.backends.legacy import LegacyBackend
from facade.backends.new import NewBackend
from facade.backends.translator import LoopTranslator, ProcessTranslator, Translator
from facade.cache.front import CacheFront, front_route
from facade.cache.http import CACHE_HEADER
from facade.cache.keys import KeyReads, key_reads
from facade.cache.peers import PurgeLog
from facade.cache.step import ResponseCache
from facade.cache.store import CacheStore, MemoryStore
from facade.compression import CODECS, Codec, Compressor, Kept
from facade.config.loader import FacadeConfig, config_problems, load_config
from facade.configuration import Configuration, Current, MappedRoutes
from facade.contracts.conformance import ResponseConformance
from facade.dispatch import MappedFront, own_paths
from facade.docs import add_docs_routes
from facade.errors import ClientError, ConfigError, FacadeError, MethodNotAllowed, RouteNotFound
from facade.guard import Inbound, build_gate, read_context
from facade.limits import LimitsMiddleware
from facade.migration.control import FlagControl
from facade.migration.flags import FlagStore, MemoryFlagStore
from facade.migration.records import Result, ShadowRecords
from facade.migration.shadow import ShadowJob, ShadowRunner
from facade.migration.state import FileFlagStore
from facade.net import HttpTransport, Transport
from facade.net.seam import origin
from facade.observability import (
    MULTIPROCESS_DIR_VARIABLE,
    UNMATCHED,
    Metrics,
    ObservabilityMiddleware,
    configure_logging,
)
from facade.openapi.document import openapi_document
from facade.pacing import Pacer, PacingMiddleware
from facade.paths import RESERVED_PATHS
from facade.pipeline import Failure, Outcome, ServedRoute, serve
from facade.reload import Changes, Reloader
from facade.resilience.idempotency import Idempotency, MemoryRecords
from facade.resilience.transport import ResilientTransport
from facade.responses import (
    BACKEND_HEADER,
    encoded_json_response,
    json_response,
    problem_response,
)
from facade.routetable import CompiledNew, CompiledRoute, RouteTable, tls_contexts
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry
from facade.sources import Built, build_from_folders
from facade.types import ReadyAnswer

log = logging.getLogger("facade.app")

TITLE = "Strangler facade"
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


class FacadeApp(FastAPI):
    """The facade's ASGI app. A server may also ask it for an answer it makes at once,
    without being called (facade/protocol.py): a fresh cache hit of a mapped route."""

    def may_answer_now(self, scope: Scope) -> bool:
        front = self.middleware_stack  # built at the first call: the lifespan's
        return isinstance(front, MappedFront) and front.may_answer_now(scope)

    def answer_now(self, scope: Scope) -> ReadyAnswer | None:
        front = self.middleware_stack
        return front.answer_now(scope) if isinstance(front, MappedFront) else None


def create_app(
    table: RouteTable,
    registry: WsdlRegistry,
    settings: Settings | None = None,
    transport: Transport | None = None,
    translator: Translator | None = None,
    pacer: Pacer | None = None,
    built: Built | None = None,
    store: CacheStore | None = None,
    config: FacadeConfig | None = None,
    codecs: Mapping[str, Codec] = CODECS,
) -> FacadeApp:
    """The facade for a compiled route table.

    table = build_route_table(load_mappings(Path("mappings")), registry)
    app = create_app(table, registry)                       # real network
    app = create_app(table, registry, transport=MemoryTransport(handler))   # no sockets
    built = build_from_folders(Path("mappings"), Path("wsdl"))
    app = create_app(built.table, built.registry, settings, built=built)   # reloadable

    Replies are translated on the event loop unless a `translator` says otherwise
    (`app_from_env` gives large ones to a child process). Given the folders' build, the app
    reloads them on SIGHUP, and when they change if `settings.reload_mappings` (see
    facade/reload.py); a table given alone is served as it is. Cached answers live in an
    in-process MemoryStore of `settings.cache_bytes` unless a `store` is given. `config`
    is the settings file (authentication, rate limits, request limits); without one every
    route is public. Answers are compressed for the clients that accept it, as the settings
    say, by `codecs` (tests count their calls).
    """
    settings = settings or Settings()
    config = config or FacadeConfig()
    _check_config(config, table)
    metrics = Metrics()
    inner = transport or HttpTransport(
        settings.backend_connections,
        tls_contexts(table),
        limits=settings.backend_limits,
        queue=settings.backend_queue,
        queue_timeout=settings.backend_queue_timeout,
    )
    network = ResilientTransport(inner, settings.resilience, metrics)
    guard = Inbound(
        build_gate(config, inner), config, config.limits.max_body_bytes or settings.max_body_bytes
    )
    pacer = pacer or Pacer()  # one per app: a translator on the loop takes its turns too
    replies = translator or LoopTranslator(pacer)
    threads = handler_threads()
    keys: Idempotency[Outcome] = Idempotency(
        MemoryRecords(
            settings.idempotency_ttl, settings.idempotency_entries, settings.idempotency_bytes
        )
    )
    cache = _response_cache(
        store if store is not None else MemoryStore(settings.cache_bytes), metrics
    )
    compressor = Compressor(
        settings.compress_min_bytes,
        settings.compress,
        store=cache.store,
        codecs=codecs,
        nice=settings.compress_nice,
    )
    flags = _flag_control(table, settings)
    flags.listeners.append(cache.purge)  # a flipped route's cached answers are the old side's

    def shadowed(route: str, result: Result | None) -> None:
        metrics.shadowed(route, result)
        flags.compared(route, result)

    shadows = ShadowRunner(
        ShadowRecords(), shadowed, settings.shadow_queue, settings.shadow_concurrency
    )

    def configure(source: Built, generation: int) -> Configuration:
        _check_config(config, source.table)  # a reload may remove a route the file names
        served = [
            replace(
                _served(compiled, source, network, replies, threads, cache),
                flags=flags.setting,
                idempotency=keys,
            )
            for compiled in source.table
        ]
        by_path = _by_path(served)
        routes = tuple(
            Route(path, _PathEndpoint(by_method, guard, metrics, shadows, flags, compressor))
            for path, by_method in by_path.items()
        )
        document = openapi_document(
            source.table, source.table.contracts, title=TITLE, config=config
        )
        return Configuration(
            source.table,
            source.registry,
            routes,
            document,
            source.version or None,
            source.revisions,
            generation,
        )

    def adopt(configuration: Configuration, changes: Changes) -> None:
        if isinstance(inner, HttpTransport):  # pools of origins no longer used stay open
            inner.open(_origins(configuration.table), tls_contexts(configuration.table))
        if configuration.version is not None:
            replies.reconfigure(configuration.version)
        for name in (*changes.changed, *changes.removed):  # their entries can never hit again
            cache.store.purge(name)  # this worker's: every worker reloads for itself
        # overrides are kept by route name: they outlive the reload, declarations change
        table_now = configuration.table
        flags.redeclare([route.mapping for route in table_now], table_now.new_sides.keys())

    def count(result: str) -> None:
        metrics.reloads.labels(result).inc()

    current = Current(configure(built or Built(table, registry, "", {}), 1))
    reloader = None
    if built is not None:
        reloader = Reloader(
            settings.mappings_dir,
            settings.wsdl_dir,
            current,
            configure,
            adopt,
            count,
            config,
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ramps = None
        try:
            if isinstance(inner, HttpTransport):
                origins = _origins(current.configuration.table)
                inner.open(origins)
                # a backend down at start does not stop the facade: /readyz names its routes
                # (each origin gets a connection attempt of at most 2 s, all at once)
                await network.check(origins)
            await replies.start()
            await shadows.start()
            ramps = start_ramps(flags)
            if reloader is not None:
                await reloader.start(watch=settings.reload_mappings, on_signal=True)
            app.state.ready = True
            yield
        finally:  # pools, shadows and the translator go, also when startup itself failed
            app.state.ready = False
            await stop_ramps(ramps)
            if reloader is not None:
                await reloader.aclose()
            await shadows.aclose(settings.shadow_drain_seconds)
            await cache.aclose()
            await network.aclose()
            await replies.aclose()
            threads.shutdown(wait=False, cancel_futures=True)
            compressor.close()

    app = FacadeApp(
        title=TITLE,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # facade/docs.py serves the docs pages without a CDN
        redoc_url=None,
        # the facade reports through facade.observability and configures no OpenTelemetry
        # SDK; without this, every request pays FastAPI's look for a configured provider
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.ready = False
    app.state.current = current  # the configuration served now
    app.state.reloader = reloader
    app.state.shadow_records = shadows.records  # what the admin API shows
    app.state.flags = flags
    app.state.cache = cache  # ResponseCache: purge(route, params=None) after a change of mode
    own_middleware: list[tuple[Any, dict[str, Any]]] = [
        (
            PacingMiddleware,
            {"pacer": pacer, "exempt": RESERVED_PATHS, "exempt_prefix": ADMIN_PREFIX + "/"},
        ),
        (LimitsMiddleware, {"limits": config.limits}),  # before a pacing turn
        (ObservabilityMiddleware, {"metrics": metrics}),  # outermost: sees the wait
    ]
    for middleware, options in own_middleware:
        app.add_middleware(middleware, **options)
    _add_fronts(app, current, own_middleware, metrics, compressor)
    _add_error_handlers(app)
    backends = _Backends(current, network)
    _add_operational_routes(app, current, reloader, metrics, flags, backends)
    if settings.tokens():  # off by default: /admin/* is then a 404 like any unknown path

        def table_now() -> RouteTable:
            return current.configuration.table

        add_admin_routes(app, settings.tokens(), table_now, metrics, shadows.records, flags, cache)
    add_docs_routes(app)
    app.router.routes.append(MappedRoutes(current))  # after the facade's own paths
    app.openapi = lambda: dict(current.configuration.document)  # type: ignore[method-assign]
    return app


def _add_fronts(
    app: FastAPI,
    current: Current,
    own_middleware: list[tuple[Any, dict[str, Any]]],
    metrics: Metrics,
    compressor: Compressor,
) -> None:
    """Mapped requests skip the whole stack the framework builds: the mapped front matches
    them once and sends them through the cache front (a fresh hit costs a key and a lookup),
    then the facade's own middleware, to their endpoint; the facade's own paths still go
    the framework's way (see facade/dispatch.py)."""
    build = app.build_middleware_stack

    def around(endpoint: ASGIApp) -> ASGIApp:
        for middleware, options in own_middleware:
            endpoint = middleware(endpoint, **options)
        return CacheFront(endpoint, metrics, compressor)

    def with_fronts() -> ASGIApp:
        return MappedFront(build(), MappedRoutes(current), own_paths(app.router.routes), around)

    app.build_middleware_stack = with_fronts  # type: ignore[method-assign]


def _response_cache(store: CacheStore, metrics: Metrics) -> ResponseCache:
    """The app's cache, each request's result counted with the store's bytes and evictions
    (when it tells them). With several workers (they share a metrics folder), purges reach
    all of them through a purge log in that folder."""

    def observe(route: str, result: str) -> None:
        used, evictions = getattr(store, "used", 0), getattr(store, "evictions", 0)
        metrics.cached(route, result, used, evictions)

    shared = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
    peers = PurgeLog.in_folder(shared) if shared else None
    return ResponseCache(store, observe=observe, peers=peers)


def _flag_control(table: RouteTable, settings: Settings) -> FlagControl:
    """Run-time flags over the declared modes: in a file the workers share, or in-process."""
    store: FlagStore = MemoryFlagStore()
    if settings.state_path is not None:
        store = FileFlagStore(settings.state_path, settings.audit_path)
    routes = [route.mapping for route in table]
    return FlagControl(
        routes, store, has_new=table.new_sides.keys(), retire_after=settings.retire_after
    )


IDLE_RAMP_CHECK = 1.0
"""Seconds between looks while no route ramps: a reload may add a ramping route."""


def start_ramps(flags: FlagControl) -> asyncio.Task[None]:
    """The background task that steps ramping canaries."""
    return asyncio.create_task(_ramp_loop(flags))


async def stop_ramps(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _ramp_loop(flags: FlagControl) -> None:
    """Each tick: this worker's figures, then the decision under the store's lock in a
    thread (the lock may wait on another worker), so the event loop never blocks on it.
    The period follows the declarations, which a reload may change."""
    while True:
        period = flags.tick_seconds()
        await asyncio.sleep(IDLE_RAMP_CHECK if period is None else period)
        if period is None:
            continue
        try:
            await asyncio.to_thread(flags.ramp_tick, flags.ramp_snapshot())
        except Exception:  # noqa: BLE001 - one bad tick (a full disk) must not end the ramps
            log.exception("ramp step failed")


def app_from_env() -> FacadeApp:
    """Factory for `uvicorn --factory` and worker processes: settings from the environment."""
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until the lifespan listens: never fatal
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    config = load_config(settings.config_file)
    built = build_from_folders(settings.mappings_dir, settings.wsdl_dir, config)
    pacer = Pacer()
    translator = ProcessTranslator(settings, pacer)
    app = create_app(
        built.table,
        built.registry,
        settings,
        translator=translator,
        pacer=pacer,
        built=built,
        config=config,
    )
    heap.keep_settled()
    return app


def _check_config(config: FacadeConfig, table: RouteTable) -> None:
    """The settings file against the routes it names (a rate limit of an unknown route...)."""
    problems = config_problems(config, (route.mapping for route in table))
    if problems:
        raise ConfigError(problems)


def _served(
    compiled: CompiledRoute,
    source: Built,
    resilient: ResilientTransport,
    replies: Translator,
    threads: Executor,
    cache: ResponseCache,
) -> ServedRoute:
    """One route with its backends: legacy always, new when the mapping names it (and then
    the check of its answers against the route's documented response, when typed). Both
    call through the shared resilience, retried as the route's safety allows."""
    table = source.table
    network = resilient.for_route(compiled.mapping.legacy.safe)
    legacy = LegacyBackend(compiled, network, replies, source.version or None)
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
        revision=source.revisions.get(compiled.name, ""),
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
        guard: Inbound,
        metrics: Metrics,
        shadows: ShadowRunner,
        flags: FlagControl,
        compressor: Compressor,
    ) -> None:
        self.by_method = by_method
        self.guard = guard
        self.admissions = {m: guard.admission(r.compiled.mapping) for m, r in by_method.items()}
        self.compressor = compressor
        self.metrics = metrics
        self.shadows = shadows
        self.flags = flags
        methods = set(by_method) | ({"HEAD"} if "GET" in by_method else set())
        self.allowed = tuple(m for m in METHOD_ORDER if m in methods)
        self.front_route = front_route(by_method, guard.admits_all)
        """The GET route whose fresh hits the cache front answers (facade.cache.front)."""

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
        admission = self.admissions[served.compiled.mapping.method]
        try:
            principal, decision = await self.guard.gate.admit(request, served.name, admission)
            context = await read_context(request, served.name, self.guard.max_body_bytes, principal)
        except FacadeError as exc:
            return _render(request, Failure(exc)), None
        outcome, shadow = await serve(served, context)
        _count_new_side(self.flags, served.name, outcome)
        if outcome.side == "legacy-fallback":
            self.metrics.fallbacks.labels(served.name).inc()
            fields = {"route": served.name, "side": "new"}
            log.warning("new side failed; legacy answers instead", extra={"fields": fields})
        if isinstance(outcome, BackendReply) and outcome.violations:
            _report_violations(served, outcome, self.metrics)
        if isinstance(outcome, Failure):
            response = _render(request, outcome, _failed_origin(served, outcome))
        else:
            response = await self.answer(request, served, outcome)
        if decision is not None:
            response.headers.update(decision.headers())
        return response, shadow

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


def _count_new_side(flags: FlagControl, name: str, outcome: Outcome) -> None:
    """Tell the route's guard how the new side did; a cached answer was no call."""
    if isinstance(outcome, BackendReply):
        if outcome.headers.get(CACHE_HEADER) not in ("hit", "stale"):
            flags.served(name, outcome.side, failed=False)
    else:
        flags.served(name, outcome.side, failed=outcome.error.status >= 500)


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


class _Backends:
    """Each backend origin's health and the routes that call it, for /readyz (the routes
    of the configuration served at the time of the call)."""

    def __init__(self, current: Current, network: ResilientTransport) -> None:
        self.current = current
        self.network = network

    def routes(self) -> dict[str, list[str]]:
        table = self.current.configuration.table
        routes: dict[str, list[str]] = {}
        for compiled in table:
            routes.setdefault(origin(compiled.address), []).append(compiled.name)
            new = table.new_sides.get(compiled.name)
            # a route in mode legacy does not call its new side: its state does not matter
            serves_new = compiled.mapping.mode != "legacy"
            if serves_new and new is not None and new.template is not None:
                routes.setdefault(origin(new.template.origin), []).append(compiled.name)
        return routes

    def report(self) -> tuple[list[dict[str, Any]], list[str]]:
        """Per origin: breaker state, last known reachability and routes; and the routes
        whose backend is unreachable or whose breaker is not closed."""
        backends, degraded = [], set()
        for key, routes in sorted(self.routes().items()):
            health = self.network.health(key)
            state = health.breaker.state if self.network.settings.breaker else "off"
            backends.append(
                {"origin": key, "breaker": state, "reachable": health.reachable, "routes": routes}
            )
            if health.reachable is False or state in ("open", "half-open"):
                degraded.update(routes)
        return backends, sorted(degraded)


def _add_operational_routes(
    app: FastAPI,
    current: Current,
    reloader: Reloader | None,
    metrics: Metrics,
    flags: FlagControl,
    backends: _Backends,
) -> None:
    """Health, readiness and metrics: plain Starlette routes (GET and HEAD), no validation
    layer in front of them, so they stay cheap while the facade is busy.

    Readiness stays 200 after a failed reload: the previous configuration still serves.
    Its `configuration` detail says which generation serves and how the last reload went.
    """

    async def healthz(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(request: Request) -> Response:
        wsdls = sorted(current.configuration.registry.loaded)
        ready = bool(request.app.state.ready)
        # a broken state file leaves the declared modes serving: ready, with the reason
        state = {"store": flags.store.describe(), "problem": flags.problem()}
        # a failing backend does not make the facade unready: its other routes still serve
        origins, degraded = backends.report()
        document: dict[str, Any] = {"ready": ready, "wsdls": wsdls, "flags": state}
        document |= {"backends": origins, "degraded": degraded}
        if reloader is not None:
            document["configuration"] = reloader.report()
        return json_response(document, 200 if ready else 503)

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

    app.add_exception_handler(FacadeError, facade_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    # an unforeseen exception is answered by ObservabilityMiddleware (a 500 with the request
    # id its log line carries): a handler here would run in Starlette's outermost layer,
    # which re-raises it to the server, and the server prints the traceback on stderr
