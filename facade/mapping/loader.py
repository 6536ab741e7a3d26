"""Read `mappings/**/*.yaml` into frozen `RouteMapping` values, or report every problem found.

Each problem names the file, the field path and how to fix it:

    mappings/orders.yaml: legacy.timeout: must be greater than 0
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from facade.auth.policy import Requirement, RouteLimit
from facade.config.models import requirement, route_limit
from facade.durations import seconds
from facade.errors import ConfigError, ConfigProblem
from facade.mapping.credentials import LegacyAuthSection
from facade.mapping.envvars import MissingVariable, expand
from facade.mapping.models import (
    SAFE_METHODS,
    CacheSection,
    GuardSection,
    LegacySection,
    MappingFile,
    MigrationSection,
    NewSection,
    RampSection,
    ResilienceSection,
    RouteSection,
)
from facade.mapping.secrets import Secret, SecretUnavailable, resolve
from facade.types import Mode, RouteName

MAPPING_SUFFIXES = (".yaml", ".yml")
M = TypeVar("M", bound=BaseModel)
SECRET_FIELDS = frozenset({"legacy.auth.basic.password", "legacy.auth.username_token.password"})
"""Places that hold a secret reference: never expanded as text, read by `resolve`."""


@dataclass(frozen=True)
class UsernameToken:
    """WS-Security UsernameToken credentials; `digest` sends PasswordDigest."""

    username: str
    password: Secret
    digest: bool = False


@dataclass(frozen=True)
class BasicCredentials:
    """HTTP basic credentials."""

    username: str
    password: Secret


@dataclass(frozen=True)
class TlsFiles:
    """PEM files (absolute paths) for TLS toward the legacy origin."""

    cert: str | None = None
    key: str | None = None
    ca: str | None = None


@dataclass(frozen=True)
class LegacyAuth:
    """How the facade proves itself to the legacy system (any combination)."""

    username_token: UsernameToken | None = None
    basic: BasicCredentials | None = None
    tls: TlsFiles | None = None


@dataclass(frozen=True)
class LegacyBinding:
    """How a route reaches its SOAP operation, as the mapping file declares it."""

    wsdl: str
    operation: str
    service: str | None
    port: str | None
    address: str | None
    timeout: float
    """Seconds the whole call may take: the deadline of this side."""
    max_reply_bytes: int
    request: Mapping[str, str]
    response: str | None
    faults: Mapping[str, int]
    decimals: Literal["string", "number"]
    safe: bool
    """The operation only reads: it may be cached, and retried after a failure."""
    auth: LegacyAuth = field(default_factory=LegacyAuth)
    auth_declared: bool = False
    """The mapping has its own `legacy.auth`, which facade.yaml's per-WSDL one never replaces."""
    soap_headers: Mapping[str, str] = field(default_factory=dict)
    """SOAP header element (Clark name) -> expression over the request context."""


@dataclass(frozen=True)
class NewBinding:
    """How a route reaches its new implementation: exactly one of `url` and `handler`."""

    url: str | None
    """The URL template, `${VAR}`s expanded, placeholders not yet filled."""
    handler: str | None
    """`package.module:function`."""
    method: str
    """The HTTP method toward the new service (the route's unless the mapping says)."""
    headers: tuple[str, ...]
    """Request header names passed on, lower case; hop-by-hop ones are refused at load."""
    timeout: float
    """Seconds the whole call may take: the deadline of this side."""
    max_reply_bytes: int
    response: str | None


@dataclass(frozen=True)
class ComparePolicy:
    """How shadow mode compares the two answers (see facade.migration.compare for paths)."""

    ignore: tuple[str, ...] = ()
    """Places left out of the comparison, e.g. `updatedAt`, `lines[*].etag`."""
    sort: tuple[tuple[str, str], ...] = ()
    """(array path, item field): both arrays are sorted by that field before comparing."""
    baseline: bool = False
    """Legacy is called twice; places where its two answers differ are ignored."""
    redact: tuple[str, ...] = ()
    """Field names hidden in recorded diffs, on top of the default sensitive names."""


@dataclass(frozen=True)
class GuardPolicy:
    """Thresholds that send a route in canary or new back to legacy by themselves."""

    error_rate: float | None = None
    """The new side's failed share of its last `window` calls (5xx, timeouts, no connection)."""
    mismatch_rate: float | None = None
    """The differing share of the last `window` shadow comparisons."""
    window: int = 200


@dataclass(frozen=True)
class RampPolicy:
    """A canary raised by `step` percent every `every` seconds, up to `max` (100: mode new)."""

    step: float
    every: float
    """Seconds between steps."""
    max: float = 100.0
    min_calls: int = 0
    """New-side calls seen since the last step before the next one."""


@dataclass(frozen=True)
class MigrationPolicy:
    """Which side serves the route, how callers move between the sides, and how shadow
    mode compares the two answers."""

    mode: Mode = "legacy"
    percent: float = 0.0
    """Mode canary: the share of callers that new serves, 0 to 100."""
    sticky: str | None = None
    """JMESPath naming the caller; None means the client address (`client.ip`)."""
    fallback: bool = False
    """A 5xx, timeout or connection error of the new side is answered by legacy."""
    shadow_writes: bool = False
    """Shadow mode calls the new side for writes too (safe methods only otherwise)."""
    compare: ComparePolicy = field(default_factory=ComparePolicy)
    guard: GuardPolicy | None = None
    ramp: RampPolicy | None = None


@dataclass(frozen=True)
class Invalidation:
    """A cached route a successful write purges; `params` narrow it to the entries whose
    parameter (a path or query name of that route) has the value of an expression over
    the write request. No params: every entry of the route."""

    route: RouteName
    params: tuple[tuple[str, str], ...] = ()
    """(parameter name, expression text) pairs."""


@dataclass(frozen=True)
class CachePolicy:
    """How answers of the route are cached; not at all without a ttl."""

    ttl: float | None = None
    """Seconds a successful answer is served from the cache."""
    vary: tuple[str, ...] = ()
    """Header names (lower case) the key holds besides those the expressions read."""
    public: bool = False
    """The answer is the same for every caller: credentials stay out of the key."""
    stale_if_error: float = 0.0
    """Seconds past the ttl an entry still answers when the backend fails."""
    allow_bypass: bool = False
    """A client's `Cache-Control: no-cache` skips the entry (off: clients cannot use it
    to hammer legacy)."""
    stale_while_revalidate: float = 0.0
    """Seconds past the ttl an entry still answers at once while one call refreshes it."""
    invalidates: tuple[Invalidation, ...] = ()
    """Write routes: the cached routes purged once the write succeeds."""


@dataclass(frozen=True)
class ResiliencePolicy:
    """What the route asks of the resilience steps; retries, breaker and limits are
    process settings. Each side's deadline and reply cap live on the side itself."""

    idempotency: bool = False
    """The route honours Idempotency-Key (writes by default)."""
    idempotency_declared: bool = False
    """The mapping said so itself (`facade check` refuses it on a safe route)."""


@dataclass(frozen=True)
class RouteMapping:
    """One mapping file, validated and with environment variables expanded."""

    name: RouteName
    source: str
    method: str
    path: str
    summary: str | None
    description: str | None
    tags: tuple[str, ...]
    status: int
    legacy: LegacyBinding
    new: NewBinding | None = None
    """The route's new implementation, when the mapping names one."""
    migration: MigrationPolicy = field(default_factory=MigrationPolicy)
    cache: CachePolicy = field(default_factory=CachePolicy)
    resilience: ResiliencePolicy = field(default_factory=ResiliencePolicy)
    auth: Requirement | None = None
    """Who may call the route; None: the settings file's default."""
    rate_limit: RouteLimit = None
    """The route's own bucket (or `off`); None: the settings file's."""

    @property
    def mode(self) -> Mode:
        return self.migration.mode


@dataclass
class LoadResult:
    routes: list[RouteMapping] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)


def discover(directory: Path) -> list[Path]:
    """Every mapping file below `directory`, in a stable order."""
    return sorted(p for p in directory.rglob("*") if p.suffix in MAPPING_SUFFIXES and p.is_file())


def load_mappings(directory: Path, env: Mapping[str, str] | None = None) -> list[RouteMapping]:
    """Load every mapping, or raise ConfigError listing all problems in all files."""
    result = read_mappings(directory, env)
    if result.problems:
        raise ConfigError(result.problems)
    return result.routes


def read_mappings(directory: Path, env: Mapping[str, str] | None = None) -> LoadResult:
    """Load what can be loaded and collect the problems of the rest (for `facade check`)."""
    env = os.environ if env is None else env
    result = LoadResult()
    if not directory.is_dir():
        result.problems.append(
            ConfigProblem(str(directory), "", "is not a folder of mapping files (see --mappings)")
        )
        return result
    for path in discover(directory):
        try:
            result.routes.append(read_mapping(path, env))
        except ConfigError as exc:
            result.problems.extend(exc.problems)
    return result


def read_mapping(path: Path, env: Mapping[str, str]) -> RouteMapping:
    """Parse and validate one mapping file."""
    source = str(path)
    raw = parse_yaml(path, source, "a mapping", "route and legacy")
    model = validated(MappingFile, raw, env, source)
    return _to_route(model, path, source, env)


def validated(
    model: type[M],
    raw: dict[str, Any],
    env: Mapping[str, str],
    source: str,
    secrets: frozenset[str] = SECRET_FIELDS,
) -> M:
    """`raw` with `${VAR}`s expanded (but at the `secrets` places), as `model`; or
    ConfigError naming each field wrong."""
    try:
        expanded = expand(raw, env, verbatim=secrets)
    except MissingVariable as exc:
        raise ConfigError([ConfigProblem(source, exc.where, str(exc))]) from exc
    try:
        return model.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(_validation_problems(source, exc, model)) from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key written twice, which plain YAML would silently drop."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # SafeLoader itself reports "found unhashable key", with its line
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(path: Path, source: str, what: str, keys: str) -> dict[str, Any]:
    """A YAML file holding a mapping (keys written twice refused); `what` the file is and
    `keys` the sections it needs, for the message when it is empty or not a mapping."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(source, "", f"cannot be read: {exc}")]) from exc
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigProblem(source, "", _yaml_message(exc))]) from exc
    if raw is None:
        raise ConfigError([ConfigProblem(source, "", f"is empty; {what} needs {keys}")])
    if not isinstance(raw, dict):
        raise ConfigError([ConfigProblem(source, "", f"must be a YAML mapping with keys {keys}")])
    return raw


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"is not valid YAML: {problem}"
    return f"is not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _validation_problems(
    source: str, exc: ValidationError, root: type[BaseModel]
) -> list[ConfigProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        problems.append(ConfigProblem(source, ".".join(loc), _explain(error, loc, root)))
    return problems


def _explain(error: Any, loc: tuple[str, ...], root: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = ", ".join(_allowed_keys(loc[:-1], root))
        return f"unknown key; allowed here: {allowed}"
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"is {error.get('input')!r}; expected one of {expected}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _allowed_keys(loc: tuple[str, ...], root: type[BaseModel]) -> list[str]:
    model: type[BaseModel] = root
    keyed = False
    for part in loc:
        if part.isdigit() or keyed:  # an item of a list or a dict: the model is the item's
            keyed = False
            continue
        if part not in model.model_fields:
            return []
        annotation = model.model_fields[part].annotation
        keyed = get_origin(annotation) is dict  # the next part is a key: `legacy.crm.wsdl`
        models = [a for a in (annotation, *get_args(annotation)) if isinstance(a, type)]
        annotation = next((a for a in models if issubclass(a, BaseModel)), annotation)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _to_route(model: MappingFile, path: Path, source: str, env: Mapping[str, str]) -> RouteMapping:
    route: RouteSection = model.route
    legacy: LegacySection = model.legacy
    safe = legacy.safe if legacy.safe is not None else route.method in SAFE_METHODS
    return RouteMapping(
        name=model.name or path.stem,
        source=source,
        method=route.method,
        path=route.path,
        summary=route.summary,
        description=route.description,
        tags=route.tags,
        status=route.status,
        legacy=LegacyBinding(
            wsdl=legacy.wsdl,
            operation=legacy.operation,
            service=legacy.service,
            port=legacy.port,
            address=legacy.address,
            timeout=legacy.timeout,
            max_reply_bytes=legacy.max_reply_bytes,
            request=dict(legacy.request),
            response=legacy.response,
            faults=dict(legacy.faults),
            decimals=legacy.decimals,
            safe=safe,
            auth=legacy_auth(legacy.auth, path.parent, source, env),
            auth_declared=legacy.auth is not None,
            soap_headers=dict(legacy.soap_headers),
        ),
        new=_new_binding(model.new, route.method),
        migration=_migration_policy(model.migration, safe),
        cache=_cache_policy(model.cache),
        resilience=_resilience_policy(model.resilience, safe),
        auth=requirement(model.auth) if model.auth is not None else None,
        rate_limit=route_limit(model.rate_limit),
    )


def _resilience_policy(resilience: ResilienceSection, safe: bool) -> ResiliencePolicy:
    declared = resilience.idempotency
    return ResiliencePolicy(
        idempotency=declared if declared is not None else not safe,
        idempotency_declared=declared is True,
    )


def legacy_auth(
    auth: LegacyAuthSection | None,
    base: Path,
    source: str,
    env: Mapping[str, str],
    where: str = "legacy.auth",
) -> LegacyAuth:
    """The credentials with their secrets read and their files located (relative to `base`,
    the folder of the file naming them); what cannot be read is a problem at its field
    (`where` and below), never showing a value."""
    if auth is None:
        return LegacyAuth()
    problems: list[ConfigProblem] = []

    def secret(reference: str, where: str) -> Secret:
        try:
            return resolve(reference, env, base)
        except SecretUnavailable as exc:
            problems.append(ConfigProblem(source, where, str(exc)))
            return Secret("")

    def located(name: str | None, where: str) -> str | None:
        if name is None:
            return None
        found = (base / name).resolve()
        if not found.is_file():
            problems.append(ConfigProblem(source, where, f"{found} is not a readable file"))
        return str(found)

    token = basic = tls = None
    if auth.username_token is not None:
        wsse = auth.username_token
        password = secret(wsse.password, f"{where}.username_token.password")
        token = UsernameToken(wsse.username, password, wsse.digest)
    if auth.basic is not None:
        password = secret(auth.basic.password, f"{where}.basic.password")
        basic = BasicCredentials(auth.basic.username, password)
    if auth.tls is not None:
        tls = TlsFiles(
            cert=located(auth.tls.cert, f"{where}.tls.cert"),
            key=located(auth.tls.key, f"{where}.tls.key"),
            ca=located(auth.tls.ca, f"{where}.tls.ca"),
        )
    if problems:
        raise ConfigError(problems)
    return LegacyAuth(token, basic, tls)


def _cache_policy(cache: CacheSection | None) -> CachePolicy:
    if cache is None:
        return CachePolicy()
    vary = tuple(name.lower() for name in cache.vary)
    return CachePolicy(
        ttl=cache.ttl,
        vary=vary,
        public=cache.public,
        stale_if_error=cache.stale_if_error,
        allow_bypass=cache.allow_bypass,
        stale_while_revalidate=cache.stale_while_revalidate,
        invalidates=tuple(
            Invalidation(target.route, tuple(target.params.items())) for target in cache.invalidates
        ),
    )


def _migration_policy(migration: MigrationSection, safe: bool) -> MigrationPolicy:
    """Fallback repeats the request on legacy, so a write gets it only when its mapping
    says so explicitly."""
    return MigrationPolicy(
        mode=migration.mode,
        percent=migration.percent or 0.0,
        sticky=migration.sticky,
        fallback=migration.fallback if migration.fallback is not None else safe,
        shadow_writes=migration.shadow_writes,
        compare=ComparePolicy(
            ignore=migration.compare.ignore,
            sort=tuple(migration.compare.sort.items()),
            baseline=migration.compare.baseline,
            redact=migration.compare.redact,
        ),
        guard=_guard_policy(migration.guard),
        ramp=_ramp_policy(migration.ramp),
    )


def _guard_policy(guard: GuardSection | None) -> GuardPolicy | None:
    if guard is None:
        return None
    return GuardPolicy(guard.error_rate, guard.mismatch_rate, guard.window)


def _ramp_policy(ramp: RampSection | None) -> RampPolicy | None:
    if ramp is None:
        return None
    return RampPolicy(ramp.step, seconds(ramp.every), ramp.max, ramp.min_calls)


def _new_binding(new: NewSection | None, route_method: str) -> NewBinding | None:
    if new is None:
        return None
    return NewBinding(
        url=new.url,
        handler=new.handler,
        method=new.method or route_method,
        headers=new.headers,
        timeout=new.timeout,
        max_reply_bytes=new.max_reply_bytes,
        response=new.response,
    )
