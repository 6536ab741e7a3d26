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
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from facade.net.seam import DEFAULT_MAX_REPLY_BYTES
from facade.paths import is_template, path_parameters

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
SAFE_METHODS = frozenset({"GET"})
DEFAULT_TIMEOUT_SECONDS = 10.0
"""Every SOAP call has a timeout; zeep's own default is none, which means wait forever."""

_ROUTE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouteSection(_Strict):
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


class LegacySection(_Strict):
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
        description="Operation argument -> JMESPath expression over {path, query, headers, body}.",
        examples=[{"CustomerId": "path.id"}],
    )
    response: str | None = Field(
        default=None,
        description="JMESPath over the SOAP result as JSON; none means the whole result.",
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

    @field_validator("faults")
    @classmethod
    def _fault_statuses(cls, value: dict[str, int]) -> dict[str, int]:
        for key, status in value.items():
            if not 400 <= status <= 599:
                raise ValueError(f"status {status} for {key!r} must be between 400 and 599")
        return value


class MigrationSection(_Strict):
    """Which backend serves the route. Only `legacy` exists until the new side is built."""

    mode: Literal["legacy"] = Field(default="legacy", description="Migration state of the route.")


class MappingFile(_Strict):
    """One route: a REST endpoint bound to one SOAP operation."""

    name: str | None = Field(
        default=None,
        description="Route name; the file's stem when absent.",
        pattern=_ROUTE_NAME.pattern,
    )
    route: RouteSection
    legacy: LegacySection
    migration: MigrationSection = Field(default_factory=MigrationSection)
