"""Mappings + WSDLs -> the immutable table of routes the app serves.

This is where `facade check` finds its problems: every mapping is proved against its WSDL
(operation, argument names, expressions, address) and against the other mappings (names
and routes must not collide). All problems are collected before anything is reported.
"""

from __future__ import annotations

import difflib
import logging
import re
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from facade.backends.handler import Handler, HandlerNotFound, load_handler
from facade.contracts import Contracts, build_contracts
from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import NewBinding, RouteMapping
from facade.migration.routing import DEFAULT_STICKY
from facade.net.seam import origin, origin_problem
from facade.net.tls import TlsFilesError, client_context
from facade.paths import (
    RESERVED_PATHS,
    RESERVED_PREFIX,
    ambiguous,
    overlaps,
    path_parameters,
    segments,
    sort_key,
)
from facade.soap.operations import OperationNotFound, SoapOperation, resolve_operation
from facade.soap.registry import WsdlRegistry
from facade.soap.writer import RequestWriter, compile_writer
from facade.soap.writer import Unsupported as WriterUnsupported
from facade.translate.expression import field_path
from facade.translate.reader import ReplyReader, Unsupported, compile_reader
from facade.translate.request import ArgumentSource, compile_expression
from facade.translate.response import DecimalStyle
from facade.translate.shaping import fast_expression
from facade.translate.validate import ArgumentValidator
from facade.types import RouteName
from facade.urltemplate import TemplateError, UrlTemplate

CONTEXT_ROOTS = ("path", "query", "headers", "body", "principal")
STICKY_ROOTS = (*CONTEXT_ROOTS, "client")
"""A sticky expression may also read the connection's address (`client.ip`)."""
_PATH_REFERENCE = re.compile(r"(?<![\w.])path\.([A-Za-z_][A-Za-z0-9_]*)")
_Report = Callable[[str, str], None]
log = logging.getLogger("facade.routetable")


@dataclass(frozen=True)
class CompiledInvalidation:
    """A cached route a successful write purges, with the expressions that give the values
    of its parameters."""

    route: RouteName
    params: tuple[tuple[str, ParsedResult], ...] = ()


@dataclass(frozen=True)
class CompiledRoute:
    """A mapping bound to its operation, with every expression compiled."""

    mapping: RouteMapping
    operation: SoapOperation
    arguments: tuple[ArgumentSource, ...]
    response: ParsedResult | None
    address: str
    sticky: ParsedResult | None = None
    """The expression naming a caller for canary bucketing (`client.ip` unless the
    mapping names one)."""
    invalidates: tuple[CompiledInvalidation, ...] = ()
    """Write routes: what a successful write purges from the cache."""
    soap_headers: tuple[tuple[str, ParsedResult], ...] = ()
    """(SOAP header element in Clark notation, expression over the request context)."""
    tls: ssl.SSLContext | None = None
    """The client context toward the legacy origin, when the mapping gives TLS files."""
    reader: ReplyReader | None = None
    """The reply reader compiled from the operation's output schema; None where the schema
    has what the reader does not read, and zeep reads every reply."""
    writer: RequestWriter | None = None
    """The request writer compiled from the operation's input schema; None where the schema
    has what the writer does not write, and zeep writes every request."""

    @cached_property
    def name(self) -> str:
        """The mapping's name (read several times by every request: looked up once)."""
        return self.mapping.name


@dataclass(frozen=True)
class CompiledNew:
    """A route's new implementation, proved: its URL template parsed (or its handler
    imported) and its response expression compiled."""

    binding: NewBinding
    template: UrlTemplate | None
    handler: Handler | None
    response: ParsedResult | None


@dataclass(frozen=True)
class RouteTable:
    """The compiled routes in matching order: literal path segments before parameters.

    A router that adds them in this order serves `/customers/search` before it would
    read `search` as the `{id}` of `/customers/{id}`.
    """

    routes: tuple[CompiledRoute, ...]
    contracts: Contracts
    validators: Mapping[RouteName, ArgumentValidator]
    """The request validator of each route, compiled from its contract."""
    new_sides: Mapping[RouteName, CompiledNew] = field(default_factory=dict)
    """The new implementation of each route whose mapping names one."""

    def __iter__(self) -> Iterator[CompiledRoute]:
        return iter(self.routes)

    def __len__(self) -> int:
        return len(self.routes)


def build_route_table(mappings: Iterable[RouteMapping], registry: WsdlRegistry) -> RouteTable:
    """Compile every mapping, or raise ConfigError with every problem of every file."""
    mappings = list(mappings)
    problems = collisions(mappings)
    routes = []
    new_sides = {}
    for mapping in mappings:
        try:
            routes.append(compile_route(mapping, registry))
        except ConfigError as exc:
            problems.extend(exc.problems)
        try:
            new = compile_new(mapping)
        except ConfigError as exc:
            problems.extend(exc.problems)
        else:
            if new is not None:
                new_sides[mapping.name] = new
    problems.extend(invalidation_problems(mappings, routes, new_sides))
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))  # a broken WSDL is reported once
    problems.extend(tls_conflicts(routes))
    if problems:
        raise ConfigError(problems)
    routes.sort(key=lambda route: sort_key(route.mapping.path))  # literals win
    contracts = build_contracts(routes, registry)
    validators = {
        route.name: ArgumentValidator(contracts.routes[route.name].input, contracts.components)
        for route in routes
    }
    return RouteTable(tuple(routes), contracts, validators, new_sides)


def warnings(mappings: Iterable[RouteMapping]) -> list[ConfigProblem]:
    """What `facade check` points out without refusing: settings that are allowed but can
    hurt, such as a write sent to the new side as well as to legacy."""
    found = []
    for mapping in mappings:
        if mapping.migration.shadow_writes and not mapping.legacy.safe:
            found.append(
                ConfigProblem(
                    mapping.source,
                    "migration.shadow_writes",
                    f"{mapping.method} {mapping.path} writes; in shadow mode every write "
                    "also reaches the new side, which must not change shared data",
                )
            )
    return found


def compile_route(mapping: RouteMapping, registry: WsdlRegistry) -> CompiledRoute:
    legacy = mapping.legacy
    problems: list[ConfigProblem] = []

    def problem(field: str, message: str) -> None:
        problems.append(ConfigProblem(mapping.source, field, message))

    try:
        loaded = registry.get(legacy.wsdl)
        operation = resolve_operation(
            loaded.client, legacy.operation, service=legacy.service, port=legacy.port
        )
    except ConfigError as exc:
        raise ConfigError([_located(p, mapping) for p in exc.problems]) from exc
    except OperationNotFound as exc:
        raise ConfigError([ConfigProblem(mapping.source, "legacy.operation", str(exc))]) from exc

    arguments = _arguments(mapping, operation, problem)
    response = _expression(legacy.response, "legacy.response", problem)
    if response is not None:
        response = fast_expression(response)  # answers are shaped on every call
    sticky = _sticky(mapping, problem)
    if mapping.cache.ttl is not None and not legacy.safe:
        problem("cache", "only safe routes are cached; remove it or set legacy.safe: true")
    invalidates = _invalidations(mapping, problem)
    if mapping.resilience.idempotency_declared and legacy.safe:
        problem(
            "resilience.idempotency",
            "a safe route may be repeated anyway; idempotency keys are for writes "
            "(remove it, or set legacy.safe: false)",
        )
    soap_headers = _soap_headers(mapping, problem)
    tls = _tls(mapping, problem)
    address = legacy.address or operation.address or ""
    address_problem = origin_problem(address)
    if address_problem is not None:
        problem(
            "legacy.address",
            f"{address_problem}; set legacy.address (the WSDL has no usable one)"
            if not legacy.address
            else address_problem,
        )
    if tls is not None and not address.startswith("https://"):
        problem("legacy.auth.tls", f"applies to https addresses only; the address is {address}")
    if problems:
        raise ConfigError(problems)
    return CompiledRoute(
        mapping,
        operation,
        arguments,
        response,
        address,
        sticky,
        invalidates=invalidates,
        soap_headers=soap_headers,
        tls=tls,
        reader=_reader(operation, legacy.decimals),
        writer=_writer(operation),
    )


def _soap_headers(mapping: RouteMapping, problem: _Report) -> tuple[tuple[str, ParsedResult], ...]:
    """Each SOAP header's expression compiled; a plain path must start at a context name."""
    compiled = []
    for name, text in mapping.legacy.soap_headers.items():
        field = f"legacy.soap_headers.{name}"
        expression = _expression(text, field, problem)
        if expression is None:
            continue
        path = field_path(expression)
        if path is not None and path[0] not in CONTEXT_ROOTS:
            problem(field, f"{text!r} must start with one of {', '.join(CONTEXT_ROOTS)}")
        compiled.append((name, expression))
    return tuple(compiled)


def _tls(mapping: RouteMapping, problem: _Report) -> ssl.SSLContext | None:
    """The client context, proved here so that `facade check` reports a bad file."""
    files = mapping.legacy.auth.tls
    if files is None:
        return None
    try:
        return client_context(files.cert, files.key, files.ca)
    except TlsFilesError as exc:
        problem("legacy.auth.tls", str(exc))
        return None


def tls_conflicts(routes: Iterable[CompiledRoute]) -> list[ConfigProblem]:
    """Routes of one legacy origin share its connection pool, hence its TLS files."""
    first: dict[str, CompiledRoute] = {}
    problems = []
    for route in routes:
        key = origin(route.address)
        other = first.setdefault(key, route)
        if other.mapping.legacy.auth.tls != route.mapping.legacy.auth.tls:
            problems.append(
                ConfigProblem(
                    route.mapping.source,
                    "legacy.auth.tls",
                    f"{key} is also called by {other.mapping.source} with other TLS files; "
                    "routes of one origin share its connections, so give them the same",
                )
            )
    return problems


def tls_contexts(routes: Iterable[CompiledRoute]) -> dict[str, ssl.SSLContext]:
    """origin -> client context, for the transport's pools."""
    return {origin(route.address): route.tls for route in routes if route.tls is not None}


def _invalidations(mapping: RouteMapping, problem: _Report) -> tuple[CompiledInvalidation, ...]:
    """The write's invalidations, each parameter's expression compiled and reading the
    write request (its path parameters by their names)."""
    targets = mapping.cache.invalidates
    if targets and mapping.legacy.safe:
        problem(
            "cache.invalidates",
            "only write routes invalidate; a safe route changes nothing "
            "(or set legacy.safe: false)",
        )
    params = set(path_parameters(mapping.path))
    compiled = []
    for index, target in enumerate(targets):
        bound = []
        for name, text in target.params:
            field = f"cache.invalidates.{index}.params.{name}"
            expression = _expression(text, field, problem)
            if expression is None:
                continue
            path = field_path(expression)
            if path is not None and (path[0] not in CONTEXT_ROOTS or len(path) < 2):
                problem(
                    field,
                    f"{text!r} must name a value under one of {', '.join(CONTEXT_ROOTS)} "
                    "of the write request",
                )
            elif path is not None and path[0] == "path" and path[1] not in params:
                problem(field, f"path.{path[1]} is not a parameter of route.path {mapping.path}")
            bound.append((name, expression))
        compiled.append(CompiledInvalidation(target.route, tuple(bound)))
    return tuple(compiled)


def invalidation_problems(
    mappings: list[RouteMapping],
    routes: list[CompiledRoute],
    new_sides: Mapping[RouteName, CompiledNew],
) -> list[ConfigProblem]:
    """Each named route exists and is cached, and each parameter is one of its path or
    query parameters (when it compiled: its own problems are reported already)."""
    by_name = {mapping.name: mapping for mapping in mappings}
    compiled = {route.name: route for route in routes}
    problems = []
    for mapping in mappings:
        for index, target in enumerate(mapping.cache.invalidates):
            field = f"cache.invalidates.{index}"
            named = by_name.get(target.route)
            if named is None:
                close = difflib.get_close_matches(target.route, list(by_name), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                message = f"route {target.route!r} does not exist{hint}"
                problems.append(ConfigProblem(mapping.source, f"{field}.route", message))
                continue
            if named.cache.ttl is None:
                message = f"route {target.route!r} is not cached (it has no cache.ttl)"
                problems.append(ConfigProblem(mapping.source, f"{field}.route", message))
                continue
            if target.route not in compiled:
                continue
            known = route_parameters(compiled[target.route], new_sides.get(target.route))
            for name, _ in target.params:
                if name not in known:
                    message = (
                        f"{name!r} is not a path or query parameter of route {target.route!r} "
                        f"(it has: {', '.join(sorted(known)) or 'none'})"
                    )
                    problems.append(
                        ConfigProblem(mapping.source, f"{field}.params.{name}", message)
                    )
    return problems


def route_parameters(route: CompiledRoute, new: CompiledNew | None = None) -> frozenset[str]:
    """The names a request's path and query parameters of `route` go by: its path's
    parameters and the `query.NAME` its expressions (and its new URL) read."""
    names = set(path_parameters(route.mapping.path))
    paths = [field_path(source.expression) for source in route.arguments]
    if new is not None and new.template is not None:
        paths.extend(placeholder.path for placeholder in new.template.placeholders)
    names.update(path[1] for path in paths if path and len(path) == 2 and path[0] == "query")
    return frozenset(names)


def _reader(operation: SoapOperation, decimals: DecimalStyle) -> ReplyReader | None:
    try:
        return compile_reader(operation, decimals)
    except Unsupported as exc:
        log.info("operation %s: replies read by zeep (%s)", operation.name, exc)
    except Exception:  # noqa: BLE001 - a schema zeep reads must never stop the facade
        log.warning("operation %s: replies read by zeep", operation.name, exc_info=True)
    return None


def _writer(operation: SoapOperation) -> RequestWriter | None:
    try:
        return compile_writer(operation)
    except WriterUnsupported as exc:
        log.info("operation %s: requests written by zeep (%s)", operation.name, exc)
    except Exception:  # noqa: BLE001 - a schema zeep writes must never stop the facade
        log.warning("operation %s: requests written by zeep", operation.name, exc_info=True)
    return None


def _sticky(mapping: RouteMapping, problem: _Report) -> ParsedResult | None:
    """The sticky expression compiled; a plain path must start at a name of the context
    and read headers in lower case, as they are stored."""
    text = mapping.migration.sticky or DEFAULT_STICKY
    expression = _expression(text, "migration.sticky", problem)
    path = field_path(expression) if expression is not None else None
    if path is None:
        return expression
    if path[0] not in STICKY_ROOTS or len(path) < 2:
        problem(
            "migration.sticky",
            f"{text!r} must name a value under one of {', '.join(STICKY_ROOTS)} "
            '(headers."x-user-id", client.ip, body.account)',
        )
    elif path[0] == "headers" and path[1] != path[1].lower():
        problem(
            "migration.sticky",
            f'{text!r}: header names are lower case in the request context; write headers."'
            f'{path[1].lower()}"',
        )
    return expression


def compile_new(mapping: RouteMapping) -> CompiledNew | None:
    """The route's `new:` section proved, or ConfigError with each of its problems."""
    new = mapping.new
    if new is None:
        if mapping.mode in ("new", "canary", "shadow"):
            message = (
                f"is {mapping.mode}, but the mapping has no new: section (give it a url or handler)"
            )
            raise ConfigError([ConfigProblem(mapping.source, "migration.mode", message)])
        return None
    problems: list[ConfigProblem] = []

    def problem(field: str, message: str) -> None:
        problems.append(ConfigProblem(mapping.source, field, message))

    template = _template(mapping, new.url, problem) if new.url is not None else None
    handler = _handler(new.handler, problem) if new.handler is not None else None
    response = _expression(new.response, "new.response", problem)
    if problems:
        raise ConfigError(problems)
    return CompiledNew(new, template, handler, response)


def _template(mapping: RouteMapping, url: str, problem: _Report) -> UrlTemplate | None:
    """The URL template, its placeholders checked against the names a request has."""
    try:
        template = UrlTemplate.parse(url)
    except TemplateError as exc:
        problem("new.url", str(exc))
        return None
    params = set(path_parameters(mapping.path))
    for placeholder in template.placeholders:
        root, *rest = placeholder.path
        if root not in CONTEXT_ROOTS or not rest:
            problem(
                "new.url",
                f"{{{placeholder.text}}} must name a value under one of "
                f'{", ".join(CONTEXT_ROOTS)} (path.id, query.q, headers."x-y", body.a)',
            )
        elif root == "headers" and rest[0] != rest[0].lower():
            problem(
                "new.url",
                f"{{{placeholder.text}}}: header names are lower case in the request context; "
                f'write headers."{rest[0].lower()}"',
            )
        elif root == "path" and rest[0] not in params:
            problem(
                "new.url",
                f"{{{placeholder.text}}}: {rest[0]!r} is not a parameter of route.path "
                f"{mapping.path}",
            )
    return template


def _handler(spec: str, problem: _Report) -> Handler | None:
    try:
        return load_handler(spec)
    except HandlerNotFound as exc:
        problem("new.handler", str(exc))
        return None


def collisions(mappings: list[RouteMapping]) -> list[ConfigProblem]:
    """Two files with one route name, or two routes that no path segment tells apart.

    Overlapping routes are fine when one is more literal (`/customers/search` beside
    `/customers/{id}`): the table is ordered so that it wins.
    """
    problems = []
    names: dict[str, RouteMapping] = {}
    alike: dict[tuple[str, int], list[RouteMapping]] = {}  # only these can overlap
    for mapping in mappings:
        if mapping.name in names:
            problems.append(
                ConfigProblem(
                    mapping.source,
                    "name",
                    f"route name {mapping.name!r} is already used by {names[mapping.name].source}",
                )
            )
        names.setdefault(mapping.name, mapping)
        earlier = alike.setdefault((mapping.method, len(segments(mapping.path))), [])
        problems.extend(_path_problems(mapping, earlier))
        earlier.append(mapping)
    return problems


def _path_problems(mapping: RouteMapping, earlier: list[RouteMapping]) -> list[ConfigProblem]:
    """The facade's own GET path, or the first earlier route of the same method, that
    `mapping` cannot be told apart from."""
    if segments(mapping.path)[:1] == (RESERVED_PREFIX,):
        message = f"{mapping.path} starts with /{RESERVED_PREFIX}, kept for the admin API"
        return [ConfigProblem(mapping.source, "route.path", message)]
    if mapping.method == "GET":
        for reserved in RESERVED_PATHS:
            if overlaps(mapping.path, reserved):
                message = f"GET {mapping.path} would take the facade's own GET {reserved}"
                return [ConfigProblem(mapping.source, "route.path", message)]
    for other in earlier:
        if ambiguous(mapping.path, other.path):
            message = (
                f"{mapping.method} {mapping.path} conflicts with {other.method} "
                f"{other.path} in {other.source}"
            )
            return [ConfigProblem(mapping.source, "route.path", message)]
    return []


def _arguments(
    mapping: RouteMapping, operation: SoapOperation, problem: _Report
) -> tuple[ArgumentSource, ...]:
    names = [a.name for a in operation.arguments]
    params = set(path_parameters(mapping.path))
    sources = []
    for name, text in mapping.legacy.request.items():
        field = f"legacy.request.{name}"
        argument = operation.argument(name)
        if argument is None:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problem(
                field,
                f"{name!r} is not an argument of {operation.name} ({hint}arguments: "
                f"{', '.join(names) or 'none'})",
            )
            continue
        expression = _expression(text, field, problem)
        if expression is None:
            continue
        for param in _PATH_REFERENCE.findall(text):
            if param not in params:
                problem(field, f"path.{param} is not a parameter of route.path {mapping.path}")
        path = field_path(expression)
        if path is not None and path[0] not in CONTEXT_ROOTS:
            problem(field, f"{text!r} must start with one of {', '.join(CONTEXT_ROOTS)}")
        sources.append(ArgumentSource(name, expression, argument.element))
    for argument in operation.arguments:
        if argument.required and argument.name not in mapping.legacy.request:
            problem(
                "legacy.request",
                f"{operation.name} requires argument {argument.name!r}; add an expression for it",
            )
    return tuple(sources)


def _expression(text: str | None, field: str, problem: _Report) -> ParsedResult | None:
    if text is None:
        return None
    try:
        return compile_expression(text)
    except JMESPathError as exc:
        problem(field, f"is not a valid JMESPath expression: {str(exc).splitlines()[0]}")
        return None


def _located(problem: ConfigProblem, mapping: RouteMapping) -> ConfigProblem:
    if problem.file:
        return problem
    return ConfigProblem(mapping.source, problem.field, problem.message)
