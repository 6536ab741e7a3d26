"""The settings file format (`facade.yaml`), as pydantic models.

They parse and report on untrusted YAML; the rest of the facade sees the frozen values
that `config.loader` builds. `facade/schemas/facade.schema.json` is generated from
`SettingsFile` (`python -m facade.config.schema`).

    auth:
      default: {scopes: []}          # routes whose mapping says nothing: any valid caller
      jwt:
        jwks_url: ${JWKS_URL}
        issuer: https://id.example.com/
        audience: facade
        algorithms: [RS256]
      api_keys:
        keys:
          - {name: reporting, sha256: 9f86d0..., scopes: [customers:read]}
    rate_limits:
      default: {rate: 10, burst: 20}
    limits:
      max_headers: 100
    legacy:
      crm.wsdl:                      # every route of crm.wsdl without its own legacy.auth
        auth: {basic: {username: facade, password: ${CRM_PASSWORD}}}
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from facade.auth.policy import PUBLIC, BucketSpec, Requirement, RouteLimit
from facade.mapping.credentials import LegacyAuthSection
from facade.strict import StrictModel

ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
"""Signature algorithms a JWKS of public keys can verify. HMAC (HS*) is left out: with
public keys it is the algorithm-confusion attack, and `none` is no signature at all."""

JwtAlgorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]

DEFAULT_LEEWAY_SECONDS = 30.0
"""Clock skew allowed on exp, nbf and iat: 30 s either way."""
DEFAULT_JWKS_REFRESH_SECONDS = 300.0
"""Keys are fetched again every 5 minutes, so a rotated key is picked up."""
DEFAULT_JWKS_MIN_REFRESH_SECONDS = 30.0
"""A token naming an unknown key fetches the keys again at most once per 30 s."""
DEFAULT_API_KEY_HEADER = "x-api-key"
DEFAULT_MAX_CALLERS = 100_000
"""Rate-limit buckets kept per worker; the least recently used beyond it are dropped."""
DEFAULT_MAX_HEADERS = 100
"""More request header fields than this is a 431."""
DEFAULT_MAX_HEADER_BYTES = 16 * 1024
"""Request header names and values together over 16 KiB is a 431."""
DEFAULT_DRAIN_BYTES = 64 * 1024 * 1024
"""A body the facade refuses is read and dropped up to 64 MiB, so the client sees the answer."""
DEFAULT_DRAIN_SECONDS = 10.0
"""...and for at most 10 s; past either, the answer goes out and the connection closes."""

_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ROUTE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
"""A scope token (RFC 6749 section 3.3): printable ASCII but space, quote and backslash."""


def _scope_tokens(value: tuple[str, ...]) -> tuple[str, ...]:
    for scope in value:
        if not _SCOPE.match(scope):
            raise ValueError(
                f"{scope!r} is not a scope: printable ASCII without spaces, quotes or backslashes"
            )
    return value


class RouteAuth(StrictModel):
    """Who may call a route: any authenticated caller holding every one of `scopes`."""

    scopes: tuple[str, ...] = Field(
        default=(),
        description="Scopes the caller must hold, all of them; empty: any valid caller.",
        examples=[["customers:read"]],
    )

    _scopes = field_validator("scopes")(_scope_tokens)


AuthRequirement = Literal["public"] | RouteAuth
"""`public` (anyone, credentials or not) or `{scopes: [...]}`."""


class JwtSection(StrictModel):
    """Bearer tokens (JWT) signed by an identity provider whose public keys are a JWKS."""

    jwks_url: str | None = Field(
        default=None,
        description=(
            "URL of the JWKS; the only place keys are fetched from (a token's own jku or x5u "
            "is never followed)."
        ),
    )
    jwks_file: str | None = Field(
        default=None, description="A JWKS file, read at start (relative to facade.yaml)."
    )
    issuer: str | None = Field(default=None, description="Required value of the `iss` claim.")
    audience: str | None = Field(
        default=None, description="Value the `aud` claim must hold (a string or one of a list)."
    )
    algorithms: tuple[JwtAlgorithm, ...] = Field(
        default=("RS256",),
        min_length=1,
        description="Accepted signature algorithms; never none, never HMAC.",
    )
    leeway: float = Field(
        default=DEFAULT_LEEWAY_SECONDS,
        ge=0,
        le=600,
        description="Seconds of clock skew allowed on exp, nbf and iat.",
    )
    refresh: float = Field(
        default=DEFAULT_JWKS_REFRESH_SECONDS,
        gt=0,
        description="Seconds between fetches of the JWKS URL.",
    )
    min_refresh: float = Field(
        default=DEFAULT_JWKS_MIN_REFRESH_SECONDS,
        ge=0,
        description="Least seconds between two fetches caused by tokens naming an unknown key.",
    )
    scopes_claim: str = Field(
        default="scope",
        description="Claim holding the scopes: a space-separated string or a list.",
    )
    claims: tuple[str, ...] = Field(
        default=(),
        description=("Further claims exposed to mapping expressions as `principal.claims.<name>`."),
        examples=[["email", "tenant"]],
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _no_symmetric(cls, value: object) -> object:
        for name in value if isinstance(value, list | tuple) else ():
            if isinstance(name, str) and (name.lower() == "none" or name.upper().startswith("HS")):
                raise ValueError(
                    f"{name!r} is refused: keys come from a JWKS of public keys, so only "
                    f"signature algorithms are accepted ({', '.join(ASYMMETRIC_ALGORITHMS)})"
                )
        return value

    @model_validator(mode="after")
    def _one_source(self) -> JwtSection:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of jwks_url or jwks_file")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError(f"jwks_url {self.jwks_url!r} must be an http(s) URL")
        return self


class ApiKey(StrictModel):
    """One API key, stored as the SHA-256 of the key (never the key itself)."""

    name: str = Field(description="Who holds the key: the principal's subject.", min_length=1)
    sha256: str = Field(
        description='Hex SHA-256 of the key: `printf %s "$KEY" | sha256sum`.',
    )
    scopes: tuple[str, ...] = Field(default=(), description="Scopes the key grants.")

    _scopes = field_validator("scopes")(_scope_tokens)

    @field_validator("sha256", mode="before")
    @classmethod
    def _hex_digest(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.lower()
            if not _SHA256.match(value):
                raise ValueError("must be 64 hex digits: the SHA-256 of the key, not the key")
        return value


class ApiKeysSection(StrictModel):
    header: str = Field(
        default=DEFAULT_API_KEY_HEADER, description="Request header carrying the key."
    )
    keys: tuple[ApiKey, ...] = Field(default=(), description="The accepted keys.")

    @field_validator("header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not _HEADER_NAME.match(value):
            raise ValueError(f"{value!r} is not a header name")
        if value.lower() == "authorization":
            raise ValueError("authorization carries bearer tokens; name another header")
        return value.lower()

    @model_validator(mode="after")
    def _unique(self) -> ApiKeysSection:
        names = [key.name for key in self.keys]
        if len(names) != len(set(names)):
            raise ValueError("two keys have the same name")
        digests = [key.sha256 for key in self.keys]
        if len(digests) != len(set(digests)):
            raise ValueError("two keys have the same sha256")
        return self


class AuthSection(StrictModel):
    """Inbound authentication, for the whole process."""

    realm: str = Field(default="facade", description="Realm named in WWW-Authenticate.")
    default: AuthRequirement = Field(
        default_factory=RouteAuth,
        description=(
            "What routes whose mapping has no `auth` require: `public`, or `{scopes: [...]}` "
            "(`{}`: any authenticated caller)."
        ),
    )
    jwt: JwtSection | None = Field(default=None, description="Bearer tokens (JWT).")
    api_keys: ApiKeysSection | None = Field(default=None, description="API keys.")

    @field_validator("realm")
    @classmethod
    def _quotable(cls, value: str) -> str:
        if not value or any(c in value for c in '"\\\r\n\0'):
            raise ValueError("must be non-empty text without quotes, backslashes or newlines")
        return value

    @model_validator(mode="after")
    def _some_credential(self) -> AuthSection:
        if self.jwt is None and self.api_keys is None:
            raise ValueError("configure jwt, api_keys or both (or remove the auth section)")
        return self


class Bucket(StrictModel):
    """A token bucket: `rate` requests per second on average, bursts up to `burst`."""

    rate: float = Field(gt=0, description="Requests per second refilled.")
    burst: int = Field(ge=1, description="Requests a caller may make at once.")


class RateLimitsSection(StrictModel):
    """Token buckets per caller (principal, or client address when anonymous) and route."""

    default: Bucket | None = Field(
        default=None, description="Bucket of every route without its own; none: unlimited."
    )
    routes: dict[str, Bucket | Literal["off"]] = Field(
        default_factory=dict,
        description="Route name -> its bucket (or `off`); wins over the mapping's rate_limit.",
    )
    max_callers: int = Field(
        default=DEFAULT_MAX_CALLERS,
        ge=1,
        description="Buckets kept per worker; the least recently used beyond it are dropped.",
    )

    @field_validator("routes")
    @classmethod
    def _route_names(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            if not _ROUTE_NAME.match(name):
                raise ValueError(f"{name!r} is not a route name")
        return value


class LimitsSection(StrictModel):
    """What a client's request may weigh before anything reads it."""

    max_body_bytes: int | None = Field(
        default=None,
        ge=1,
        description="Largest request body (413); FACADE_MAX_BODY_BYTES if absent.",
    )
    max_headers: int = Field(
        default=DEFAULT_MAX_HEADERS, ge=1, description="Most request header fields (431)."
    )
    max_header_bytes: int = Field(
        default=DEFAULT_MAX_HEADER_BYTES,
        ge=1024,
        description="Most bytes of header names and values together (431).",
    )
    drain_bytes: int = Field(
        default=DEFAULT_DRAIN_BYTES,
        ge=0,
        description="A refused body is read and dropped up to this many bytes before answering.",
    )
    drain_seconds: float = Field(
        default=DEFAULT_DRAIN_SECONDS, ge=0, description="...for at most this many seconds."
    )


class LegacyDefaults(StrictModel):
    """What every route of one WSDL sends its legacy system, unless its mapping has its
    own `legacy.auth` (which then applies whole, in place of this one)."""

    auth: LegacyAuthSection = Field(
        description=(
            "Credentials toward legacy, as in a mapping's legacy.auth; secrets as `${VAR}` "
            "or `file:PATH`, files relative to facade.yaml."
        )
    )


class SettingsFile(StrictModel):
    """The facade's settings file: one per process, named by --config or FACADE_CONFIG."""

    auth: AuthSection | None = Field(
        default=None, description="Inbound authentication; none: every route is public."
    )
    rate_limits: RateLimitsSection = Field(default_factory=RateLimitsSection)
    limits: LimitsSection = Field(default_factory=LimitsSection)
    legacy: dict[str, LegacyDefaults] = Field(
        default_factory=dict,
        description=(
            "WSDL file name, as mappings name it in legacy.wsdl -> the credentials its "
            "routes use unless their mapping has its own legacy.auth."
        ),
        examples=[{"crm.wsdl": {"auth": {"basic": {"username": "facade", "password": "${P}"}}}}],
    )


def requirement(declared: Literal["public"] | RouteAuth) -> Requirement:
    """A mapping's or the settings' `auth:` value as a plain requirement."""
    if declared == "public":
        return PUBLIC
    assert isinstance(declared, RouteAuth)  # noqa: S101 - the model allows only these two
    return Requirement(scopes=declared.scopes)


def route_limit(declared: Bucket | Literal["off"] | None) -> RouteLimit:
    if declared is None or declared == "off":
        return declared
    return BucketSpec(rate=declared.rate, burst=declared.burst)
