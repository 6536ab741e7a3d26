"""The mapping file format, as pydantic models.

These models exist only to parse and report on untrusted YAML; the rest of the facade sees
the frozen `RouteMapping` values that `mapping.loader` builds from them. The JSON Schema
shipped in `facade/schemas/mapping.schema.json` is generated from `MappingFile`.

    # mappings/customers/get-customer.yaml
    route:
      method: GET
      path: /v1/customers/{id}
    legacy:
      wsdl: crm.wsdl
      operation: GetCustomer
      request: {CustomerId: path.id}
      response: Customer
      faults: {CustomerNotFound: 404}
    new:
      url: ${CUSTOMERS_URL}/customers/{path.id}
    migration:
      mode: new
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from facade.config.models import AuthRequirement, Bucket
from facade.durations import seconds
from facade.mapping.credentials import LegacyAuthSection
from facade.migration.compare import PathSyntaxError, parse_path
from facade.net.headers import is_hop_by_hop
from facade.net.seam import DEFAULT_MAX_REPLY_BYTES
from facade.paths import is_template, path_parameters
from facade.strict import StrictModel

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
SAFE_METHODS = frozenset({"GET"})
DEFAULT_TIMEOUT_SECONDS = 10.0
"""Every SOAP call has a timeout; zeep's own default is none, which means wait forever."""

_ROUTE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


class RouteSection(StrictModel):
    """The REST side: what clients call."""

    method: HttpMethod = Field(description="HTTP method of the route.")
    path: str = Field(
        description="URL path; `{name}` segments become path parameters.",
        examples=["/v1/customers/{id}"],
    )
    summary: str | None = Field(default=None, description="One line for the API docs.")
    description: str | None = Field(default=None, description="Longer text for the API docs.")
    tags: tuple[str, ...] = Field(default=(), description="Groups in the API docs.")
    status: int = Field(
        default=200, ge=200, le=299, description="HTTP status of a successful answer."
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        if not is_template(value):
            raise ValueError(
                "must start with '/' and hold plain segments or whole-segment "
                "parameters like '/v1/customers/{id}'"
            )
        names = path_parameters(value)
        if len(names) != len(set(names)):
            raise ValueError("names the same path parameter twice")
        return value


_CLARK_NAME = re.compile(r"^(\{[^{}\s]+\})?[A-Za-z_][A-Za-z0-9._-]*$")


class LegacySection(StrictModel):
    """The SOAP side: which operation serves the route and how values travel."""

    wsdl: str = Field(description="A WSDL file in the wsdl folder, e.g. `crm.wsdl`.")
    operation: str = Field(description="Operation name as the WSDL spells it.")
    service: str | None = Field(
        default=None, description="Service name, when several have the operation."
    )
    port: str | None = Field(
        default=None, description="Port name, when several have the operation."
    )
    address: str | None = Field(
        default=None,
        description="Endpoint URL overriding the WSDL's soap:address; `${VAR}` expands.",
    )
    timeout: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS,
        gt=0,
        le=600,
        description=(
            "Seconds the whole call may take (connect, send, wait, read) before it is a 504."
        ),
    )
    max_reply_bytes: int = Field(
        default=DEFAULT_MAX_REPLY_BYTES,
        gt=0,
        description="Largest reply read, counted after decompression; a larger one is a 502.",
    )
    request: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Operation argument -> JMESPath expression over {path, query, headers, body, "
            "principal}."
        ),
        examples=[{"CustomerId": "path.id"}],
    )
    response: str | None = Field(
        default=None,
        description="JMESPath over the SOAP result as JSON; none means the whole result.",
    )
    auth: LegacyAuthSection | None = Field(
        default=None,
        description="Credentials toward the legacy system; secrets as `${VAR}` or `file:PATH`.",
    )
    soap_headers: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "SOAP header element (`{namespace}Name`, Clark notation) -> JMESPath over the "
            "request context, like `request`; a null value leaves the header out."
        ),
        examples=[{"{urn:example:ctx}CorrelationId": 'headers."x-request-id"'}],
    )
    faults: dict[str, int] = Field(
        default_factory=dict,
        description=(
            "SOAP fault detail element name, subcode (or a part of a dotted SOAP 1.1 code) "
            "or code -> HTTP status."
        ),
        examples=[{"CustomerNotFound": 404}],
    )
    safe: bool | None = Field(
        default=None,
        description=(
            "True when the operation only reads (may be cached and retried); "
            "when absent, GET routes are safe and others are not."
        ),
    )
    decimals: Literal["string", "number"] = Field(
        default="string",
        description="xsd:decimal values as JSON strings (exact, the default) or as numbers.",
    )

    @field_validator("soap_headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _CLARK_NAME.match(name):
                raise ValueError(f"{name!r} must be an element name, {{namespace}}Name")
        return value

    @field_validator("faults")
    @classmethod
    def _fault_statuses(cls, value: dict[str, int]) -> dict[str, int]:
        for key, status in value.items():
            if not 400 <= status <= 599:
                raise ValueError(f"status {status} for {key!r} must be between 400 and 599")
        return value


class NewSection(StrictModel):
    """The route's new implementation: an HTTP service (`url`) or a Python function
    (`handler`), exactly one of them."""

    url: str | None = Field(
        default=None,
        description=(
            "URL template of the new service; scheme, host and port come from the mapping or "
            '`${VAR}` only, `{path.id}`, `{query.q}`, `{headers."x-y"}` or `{body.a}` '
            "placeholders are filled with percent-encoded values."
        ),
        examples=["${CUSTOMERS_URL}/customers/{path.id}"],
    )
    handler: str | None = Field(
        default=None,
        description=(
            "`package.module:function` importable from the working directory or PYTHONPATH; "
            "called with the request context, returns JSON (sync functions run in a thread)."
        ),
        examples=["customers.handlers:get_customer"],
    )
    method: HttpMethod | None = Field(
        default=None, description="HTTP method toward the new service; the route's when absent."
    )
    headers: tuple[str, ...] = Field(
        default=(),
        description="Request headers passed on to the new service (an allow-list).",
        examples=[["authorization", "x-user-id"]],
    )
    timeout: float = Field(
        default=DEFAULT_TIMEOUT_SECONDS,
        gt=0,
        le=600,
        description="Seconds the whole call may take before it is a 504.",
    )
    max_reply_bytes: int = Field(
        default=DEFAULT_MAX_REPLY_BYTES,
        gt=0,
        description="Largest reply read, counted after decompression; a larger one is a 502.",
    )
    response: str | None = Field(
        default=None,
        description="JMESPath over the new side's JSON; none means the whole answer.",
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("handler")
    @classmethod
    def _handler_shape(cls, value: str | None) -> str | None:
        if value is not None and not _HANDLER.match(value):
            raise ValueError(f"{value!r} must look like package.module:function")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a header name")
            if is_hop_by_hop(name):
                raise ValueError(
                    f"{name!r} is a hop-by-hop header; it describes one connection and is "
                    "never passed on"
                )
        return tuple(name.lower() for name in value)

    @model_validator(mode="after")
    def _one_implementation(self) -> NewSection:
        if (self.url is None) == (self.handler is None):
            raise ValueError("give exactly one of url (an HTTP service) or handler (a function)")
        if self.handler is not None:
            http_only = {"method", "headers", "max_reply_bytes"} & self.model_fields_set
            if http_only:
                raise ValueError(f"{', '.join(sorted(http_only))} apply to url only, not handler")
        return self


class CompareSection(StrictModel):
    """How shadow mode compares the two answers. Paths are dotted names with `[*]` for every
    item of an array: `updatedAt`, `customer.address`, `lines[*].etag`."""

    ignore: tuple[str, ...] = Field(
        default=(),
        description="Places left out of the comparison, with everything below them.",
        examples=[["updatedAt", "lines[*].etag"]],
    )
    sort: dict[str, str] = Field(
        default_factory=dict,
        description="Array path -> item field: both arrays are sorted by it before comparing.",
        examples=[{"lines": "sku"}],
    )
    baseline: bool = Field(
        default=False,
        description=(
            "Call legacy twice and ignore the places where its two answers differ (noise)."
        ),
    )
    redact: tuple[str, ...] = Field(
        default=(),
        description=(
            "Field names whose values are hidden in recorded diffs, besides the default "
            "sensitive ones (password, token, secret, authorization, ssn, iban, card...)."
        ),
        examples=[["pin", "birthDate"]],
    )

    @field_validator("ignore")
    @classmethod
    def _ignore_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for path in value:
            _path(path)
        return value

    @field_validator("sort")
    @classmethod
    def _sort_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for path, key in value.items():
            _path(path)
            if not key:
                raise ValueError(f"{path!r}: name the item field to sort by")
        return value


def _path(text: str) -> None:
    try:
        parse_path(text)
    except PathSyntaxError as exc:
        raise ValueError(str(exc)) from None


class GuardSection(StrictModel):
    """Thresholds that flip a route in canary or new back to legacy by themselves (and mark a
    shadow route failing): the new side's error rate over its last `window` calls, the shadow
    mismatch rate over the last `window` comparisons."""

    error_rate: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description=(
            "Share of the new side's last `window` calls that failed (5xx, timeout, no "
            "connection; not 4xx) above which the route goes back to legacy, e.g. 0.05."
        ),
        examples=[0.05],
    )
    mismatch_rate: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description=(
            "Share of the last `window` shadow comparisons that differed above which the "
            "route goes back to legacy (a shadow route is marked failing), e.g. 0.01."
        ),
        examples=[0.01],
    )
    window: int = Field(
        default=200,
        ge=1,
        description="How many recent calls (and comparisons) the rates are taken over.",
    )

    @model_validator(mode="after")
    def _some_threshold(self) -> GuardSection:
        if self.error_rate is None and self.mismatch_rate is None:
            raise ValueError("give error_rate, mismatch_rate or both (rates from 0 to 1)")
        return self


class RampSection(StrictModel):
    """A canary that promotes itself: `step` percent more every `every`, while its guard
    holds and at least `min_calls` calls reached the new side since the last step."""

    step: float = Field(gt=0, le=100, description="Percent added at each step.", examples=[10])
    every: str = Field(
        description="Time between steps: a number with a unit (30s, 10m, 2h).",
        examples=["10m"],
    )
    max: float = Field(
        default=100,
        gt=0,
        le=100,
        description="Where the ramp stops; at 100 the route becomes mode new.",
    )
    min_calls: int = Field(
        default=0,
        ge=0,
        description="Calls the new side must have served (in the deciding worker) since the "
        "last step before the next one.",
    )

    @field_validator("every")
    @classmethod
    def _duration(cls, value: str) -> str:
        seconds(value)
        return value


class MigrationSection(StrictModel):
    """Which backend serves the route, how callers move to the new side, and how shadow
    mode compares the two."""

    mode: Literal["legacy", "shadow", "canary", "new"] = Field(
        default="legacy",
        description=(
            "Which side serves: legacy (SOAP), new (the `new:` section), shadow (legacy "
            "serves; new is called in the background and the answers compared), or canary "
            "(`percent` of callers to new, the rest to legacy)."
        ),
    )
    percent: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description=(
            "Mode canary only: the share of callers sent to new, 0 to 100, to 0.01 "
            "(e.g. 0.5); 0 when absent."
        ),
        examples=[10, 0.5],
    )
    sticky: str | None = Field(
        default=None,
        description=(
            "JMESPath over {path, query, headers, body, client, principal} naming the caller, "
            "so the same "
            "caller always lands on the same side; `client.ip` (the connecting address) when "
            "absent. A caller whose value is null or empty is served by legacy."
        ),
        examples=['headers."x-user-id"'],
    )
    fallback: bool | None = Field(
        default=None,
        description=(
            "When the new side fails (5xx, timeout, connection error), answer from legacy "
            "(`X-Facade-Backend: legacy-fallback`). When absent: true for safe routes, false "
            "for writes."
        ),
    )
    shadow_writes: bool = Field(
        default=False,
        description=(
            "Shadow this route although it writes: the new side receives every write too. "
            "`facade check` warns about it."
        ),
    )
    compare: CompareSection = Field(
        default_factory=CompareSection, description="How shadow mode compares the answers."
    )
    guard: GuardSection | None = Field(
        default=None,
        description="Error and mismatch thresholds that send the route back to legacy.",
    )
    ramp: RampSection | None = Field(
        default=None, description="Mode canary only: raise the percentage step by step."
    )

    @model_validator(mode="after")
    def _percent_with_canary(self) -> MigrationSection:
        if self.percent is not None and self.mode != "canary":
            raise ValueError(
                f"percent applies to mode canary only; remove it or set mode: canary "
                f"(mode is {self.mode})"
            )
        if self.ramp is not None and self.mode != "canary":
            raise ValueError(
                f"ramp applies to mode canary only; remove it or set mode: canary "
                f"(mode is {self.mode})"
            )
        if self.ramp is not None and self.ramp.max <= (self.percent or 0):
            raise ValueError("ramp.max must be above percent, or the ramp has nowhere to go")
        return self


class Invalidation(StrictModel):
    """A route whose entries a successful write purges, narrowed by parameter values."""

    route: str = Field(
        description="Name of a cached route whose entries the write makes wrong.",
        pattern=_ROUTE_NAME.pattern,
        examples=["get-customer"],
    )
    params: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The named route's path or query parameter -> JMESPath over the write's "
            "{path, query, headers, body}: only entries with that value go. All entries of "
            "the route go when empty."
        ),
        examples=[{"id": "path.id"}],
    )


_TTL_ONLY = ("vary", "public", "stale_if_error", "stale_while_revalidate", "allow_bypass")


class CacheSection(StrictModel):
    """Successful answers of a safe route served from the facade's cache for `ttl` seconds;
    on a write route, the cached routes its success makes wrong (`invalidates`)."""

    ttl: float | None = Field(
        default=None, gt=0, description="Seconds a successful answer is served from the cache."
    )
    vary: tuple[str, ...] = Field(
        default=(),
        description=(
            "Header names the cache key holds besides those the request expressions read."
        ),
        examples=[["accept-language"]],
    )
    public: bool = Field(
        default=False,
        description=(
            "The answer is the same for every caller: credentials (Authorization, Cookie, "
            "API key headers) stay out of the key. When false, each caller has its own entries."
        ),
    )
    stale_if_error: float = Field(
        default=0,
        ge=0,
        description=(
            "Seconds past the ttl an expired answer is still served (`X-Facade-Cache: stale`) "
            "when the backend fails with a 5xx, a timeout or a connection error."
        ),
    )
    stale_while_revalidate: float = Field(
        default=0,
        ge=0,
        description=(
            "Seconds past the ttl an expired answer is still served at once "
            "(`X-Facade-Cache: stale`) while one background call per key refreshes it."
        ),
    )
    allow_bypass: bool = Field(
        default=False,
        description=(
            "A client's `Cache-Control: no-cache` skips the cached entry and refreshes it. "
            "Off by default, so clients cannot use it to hammer legacy."
        ),
    )
    invalidates: tuple[Invalidation, ...] = Field(
        default=(),
        description=(
            "Write routes only: cached routes whose entries are purged once this route's "
            "write succeeds (2xx)."
        ),
        examples=[[{"route": "get-customer", "params": {"id": "path.id"}}]],
    )

    @model_validator(mode="after")
    def _ttl_or_invalidates(self) -> CacheSection:
        if self.ttl is None and not self.invalidates:
            raise ValueError("give a ttl (cache this route) or invalidates (a write route)")
        if self.ttl is None:
            given = [name for name in _TTL_ONLY if name in self.model_fields_set]
            if given:
                raise ValueError(f"{', '.join(given)} apply to a route with a ttl only")
        return self


class ResilienceSection(StrictModel):
    """How the facade protects the route's backends beyond the process-wide settings."""

    idempotency: bool | None = Field(
        default=None,
        description=(
            "Honour the `Idempotency-Key` request header: a retried request with the same key "
            "gets the first answer and the backend sees it once. When absent: on for routes "
            "that are not safe (writes), off for safe ones; false opts a write route out."
        ),
    )


class MappingFile(StrictModel):
    """One route: a REST endpoint bound to one SOAP operation, and its new implementation."""

    name: str | None = Field(
        default=None,
        description="Route name; the file's stem when absent.",
        pattern=_ROUTE_NAME.pattern,
    )
    route: RouteSection
    legacy: LegacySection
    new: NewSection | None = Field(
        default=None, description="The route's new implementation, served in modes new and canary."
    )
    migration: MigrationSection = Field(default_factory=MigrationSection)
    cache: CacheSection | None = Field(
        default=None,
        description=(
            "Cache the route's successful answers (safe routes), or name what a write invalidates."
        ),
    )
    resilience: ResilienceSection = Field(
        default_factory=ResilienceSection,
        description="Idempotency keys for the route (retries, breaker, limits are settings).",
    )
    auth: AuthRequirement | None = Field(
        default=None,
        description=(
            "Who may call the route: `public`, or `{scopes: [...]}` (every scope needed; `{}`: "
            "any authenticated caller). When absent, facade.yaml's auth.default."
        ),
        examples=["public", {"scopes": ["customers:read"]}],
    )
    rate_limit: Bucket | Literal["off"] | None = Field(
        default=None,
        description=(
            "Token bucket per caller on this route (`{rate: 5, burst: 10}`) or `off`; when "
            "absent, facade.yaml's rate_limits (whose routes entry, if any, wins)."
        ),
    )
