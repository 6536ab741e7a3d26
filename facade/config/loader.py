"""Read `facade.yaml` into frozen values, or report every problem with its file and field.

    facade.yaml: auth.jwt.algorithms.0: 'HS256' is refused: keys come from a JWKS ...

`${VAR}` and `${VAR:-default}` expand as in mapping files, so secrets and URLs can come
from the environment; per-WSDL credentials toward legacy (`legacy:`) name their secrets as
mappings do (`${VAR}` or `file:PATH`), read once here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from facade.auth.jwks import parse_jwks
from facade.auth.policy import BucketSpec, Requirement
from facade.config.models import (
    ApiKeysSection,
    AuthSection,
    JwtSection,
    LegacyDefaults,
    LimitsSection,
    RateLimitsSection,
    SettingsFile,
    requirement,
    route_limit,
)
from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import LegacyAuth, RouteMapping, legacy_auth, parse_yaml, validated

CONFIG_VARIABLE = "FACADE_CONFIG"
"""Environment variable naming the settings file (`facade serve --config` sets it)."""


@dataclass(frozen=True)
class JwtConfig:
    """Bearer tokens: where the keys are, and what a valid token must say."""

    jwks_url: str | None
    jwks_file: Path | None
    issuer: str | None
    audience: str | None
    algorithms: tuple[str, ...]
    leeway: float
    """Seconds of clock skew on exp, nbf and iat."""
    refresh: float
    """Seconds between fetches of `jwks_url`."""
    min_refresh: float
    """Least seconds between two fetches caused by an unknown key id."""
    scopes_claim: str
    claims: tuple[str, ...]
    """Claims, beyond sub and scopes, that mapping expressions may read."""


@dataclass(frozen=True)
class ApiKeyHolder:
    name: str
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ApiKeysConfig:
    header: str
    """Lower-case name of the header carrying the key."""
    holders: Mapping[str, ApiKeyHolder] = field(repr=False)
    """Hex SHA-256 of each key -> who holds it."""


@dataclass(frozen=True)
class AuthConfig:
    realm: str
    default: Requirement
    """What a route whose mapping says nothing requires."""
    jwt: JwtConfig | None
    api_keys: ApiKeysConfig | None


@dataclass(frozen=True)
class RateLimitConfig:
    default: BucketSpec | None = None
    """Every route's bucket unless it has its own; None: unlimited."""
    routes: Mapping[str, BucketSpec | Literal["off"]] = field(default_factory=dict)
    max_callers: int = 100_000
    """Buckets kept per worker (least recently used dropped beyond)."""


@dataclass(frozen=True)
class LimitsConfig:
    max_body_bytes: int | None = None
    """None: FACADE_MAX_BODY_BYTES (1 MiB by default)."""
    max_headers: int = LimitsSection.model_fields["max_headers"].default
    max_header_bytes: int = LimitsSection.model_fields["max_header_bytes"].default
    drain_bytes: int = LimitsSection.model_fields["drain_bytes"].default
    drain_seconds: float = LimitsSection.model_fields["drain_seconds"].default


@dataclass(frozen=True)
class FacadeConfig:
    """The settings file, validated; `FacadeConfig()` is a process without one."""

    source: str | None = None
    auth: AuthConfig | None = None
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    legacy: Mapping[str, LegacyAuth] = field(default_factory=dict)
    """WSDL file name -> the credentials toward legacy of its routes without their own."""


def config_path(given: Path | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The settings file named by --config, else by FACADE_CONFIG; None when neither."""
    env = os.environ if env is None else env
    if given is not None:
        return given
    named = env.get(CONFIG_VARIABLE)
    return Path(named) if named else None


def load_config(path: Path | None, env: Mapping[str, str] | None = None) -> FacadeConfig:
    """The settings in `path` (none: the defaults), or ConfigError listing each problem."""
    if path is None:
        return FacadeConfig()
    env = os.environ if env is None else env
    source = str(path)
    if not path.is_file():
        raise ConfigError([ConfigProblem(source, "", "does not exist (see --config)")])
    raw = parse_yaml(path, source, "a settings file", "auth, rate_limits, limits or legacy")
    model = validated(SettingsFile, raw, env, source, _secret_fields(raw))
    return FacadeConfig(
        source=source,
        auth=_auth(model.auth, path.parent, source) if model.auth else None,
        rate_limits=_rate_limits(model.rate_limits),
        limits=_limits(model.limits),
        legacy=_legacy(model.legacy, path.parent, source, env),
    )


def with_legacy_defaults(
    routes: Iterable[RouteMapping], config: FacadeConfig
) -> list[RouteMapping]:
    """The routes with their WSDL's credentials from the settings file, where the mapping
    has no `legacy.auth` of its own (a route's own section wins whole)."""
    return [_with_default(route, config.legacy) for route in routes]


def _with_default(route: RouteMapping, defaults: Mapping[str, LegacyAuth]) -> RouteMapping:
    default = defaults.get(route.legacy.wsdl)
    if default is None or route.legacy.auth_declared:
        return route
    return replace(route, legacy=replace(route.legacy, auth=default))


def config_problems(config: FacadeConfig, routes: Iterable[RouteMapping]) -> list[ConfigProblem]:
    """What the settings and the mappings get wrong together: a rate limit for a route that
    does not exist, a route asking for scopes when no authentication is configured."""
    problems = []
    routes = list(routes)
    source = config.source or "facade.yaml"
    names = {route.name for route in routes}
    wsdls = {route.legacy.wsdl for route in routes}
    for wsdl in config.legacy:
        if wsdl not in wsdls:
            known = ", ".join(sorted(wsdls)) or "none"
            message = f"no mapping names the WSDL {wsdl!r} in legacy.wsdl (they name: {known})"
            problems.append(ConfigProblem(source, f"legacy.{wsdl}", message))
    for name in config.rate_limits.routes:
        if name not in names:
            known = ", ".join(sorted(names)) or "none"
            message = f"no route is named {name!r} (routes: {known})"
            problems.append(ConfigProblem(source, f"rate_limits.routes.{name}", message))
    if config.auth is None:
        for route in routes:
            if route.auth is not None and not route.auth.public:
                message = (
                    "the route requires authenticated callers, but no authentication is "
                    "configured: add an auth section to facade.yaml (see --config) or say "
                    "auth: public"
                )
                problems.append(ConfigProblem(route.source, "auth", message))
    return problems


def _secret_fields(raw: dict[str, object]) -> frozenset[str]:
    """Where the file's passwords are named (`legacy.crm.wsdl.auth.basic.password`): those
    references are read as secrets, never expanded as text."""
    section = raw.get("legacy")
    if not isinstance(section, dict):
        return frozenset()
    return frozenset(
        f"legacy.{wsdl}.auth.{kind}.password"
        for wsdl in section
        for kind in ("basic", "username_token")
    )


def _legacy(
    sections: Mapping[str, LegacyDefaults], folder: Path, source: str, env: Mapping[str, str]
) -> dict[str, LegacyAuth]:
    """Each WSDL's credentials, secrets read and files located (relative to facade.yaml);
    the problems of every WSDL are reported together."""
    defaults: dict[str, LegacyAuth] = {}
    problems: list[ConfigProblem] = []
    for wsdl, section in sections.items():
        try:
            defaults[wsdl] = legacy_auth(section.auth, folder, source, env, f"legacy.{wsdl}.auth")
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return defaults


def _auth(section: AuthSection, folder: Path, source: str) -> AuthConfig:
    return AuthConfig(
        realm=section.realm,
        default=requirement(section.default),
        jwt=_jwt(section.jwt, folder, source) if section.jwt else None,
        api_keys=_api_keys(section.api_keys) if section.api_keys else None,
    )


def _jwt(section: JwtSection, folder: Path, source: str) -> JwtConfig:
    jwks_file = None
    if section.jwks_file is not None:
        jwks_file = folder / section.jwks_file
        problem = _jwks_problem(jwks_file)
        if problem is not None:
            raise ConfigError([ConfigProblem(source, "auth.jwt.jwks_file", problem)])
    return JwtConfig(
        jwks_url=section.jwks_url,
        jwks_file=jwks_file,
        issuer=section.issuer,
        audience=section.audience,
        algorithms=tuple(section.algorithms),
        leeway=section.leeway,
        refresh=section.refresh,
        min_refresh=section.min_refresh,
        scopes_claim=section.scopes_claim,
        claims=section.claims,
    )


def _jwks_problem(path: Path) -> str | None:
    """Why the JWKS file cannot serve, or None: read now, so a bad file stops the start."""
    try:
        parse_jwks(path.read_bytes())
    except OSError:
        return f"{path} cannot be read"
    except ValueError as exc:
        return f"{path} is {exc}"
    return None


def _api_keys(section: ApiKeysSection) -> ApiKeysConfig:
    holders = {key.sha256: ApiKeyHolder(key.name, key.scopes) for key in section.keys}
    return ApiKeysConfig(header=section.header, holders=holders)


def _rate_limits(section: RateLimitsSection) -> RateLimitConfig:
    routes: dict[str, BucketSpec | Literal["off"]] = {}
    for name, bucket in section.routes.items():
        limit = route_limit(bucket)
        assert limit is not None  # noqa: S101 - a routes entry is a bucket or off
        routes[name] = limit
    default = route_limit(section.default)
    return RateLimitConfig(
        default=default if isinstance(default, BucketSpec) else None,
        routes=routes,
        max_callers=section.max_callers,
    )


def _limits(section: LimitsSection) -> LimitsConfig:
    return LimitsConfig(
        max_body_bytes=section.max_body_bytes,
        max_headers=section.max_headers,
        max_header_bytes=section.max_header_bytes,
        drain_bytes=section.drain_bytes,
        drain_seconds=section.drain_seconds,
    )
