"""What the OpenAPI document says of who may call a route and how often: the security
schemes facade.yaml configures, each operation's requirement, and the 401, 403 and 429
answers with their headers.

The rule that decides a route's requirement and bucket is the gate's own
(`facade.guard.admission_for`); this module only describes its outcome:

    security:  [{bearer: [customers:read]}, {apiKey: [customers:read]}]   # either credential
    security:  []                                                           # auth: public
"""

from __future__ import annotations

from typing import Any

from facade.auth.policy import Requirement
from facade.config.loader import AuthConfig
from facade.guard import Admission

BEARER_SCHEME = "bearer"
API_KEY_SCHEME = "apiKey"

RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Limit": {
        "description": "The caller's bucket size on this route: requests it may make at once",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Remaining": {
        "description": "Requests the caller has left right now",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the caller's bucket is full again",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}
RETRY_AFTER = {
    "description": "Seconds until the caller's bucket holds a request again",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}


def security_schemes(auth: AuthConfig) -> dict[str, Any]:
    """`components.securitySchemes`: one per credential facade.yaml configures."""
    schemes: dict[str, Any] = {}
    if auth.jwt is not None:
        schemes[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT signed with a key of the identity provider's JWKS; its "
            f"`{auth.jwt.scopes_claim}` claim holds the caller's scopes.",
        }
    if auth.api_keys is not None:
        schemes[API_KEY_SCHEME] = {
            "type": "apiKey",
            "in": "header",
            "name": auth.api_keys.header,
            "description": "An API key issued by the operators; it carries its own scopes. "
            "A bearer token, when sent too, is tried first.",
        }
    return schemes


def operation_security(auth: AuthConfig, requirement: Requirement) -> list[dict[str, list[str]]]:
    """The operation's `security`: none needed on a public route, else any one configured
    credential holding every scope the route asks for."""
    if requirement.public:
        return []
    return [{name: list(requirement.scopes)} for name in security_schemes(auth)]


Answer = tuple[str, dict[str, Any]]
"""A problem answer the gate may give: its description and its headers."""


def admission_answers(auth: AuthConfig | None, admission: Admission) -> dict[str, Answer]:
    """The answers the gate may give before the backend, by status: 401 and 403 (with
    authentication configured) and 429 (on a limited route)."""
    answers: dict[str, Answer] = {}
    if auth is not None:
        answers["401"] = _unauthorized(admission.requirement)
        if admission.requirement.scopes:
            answers["403"] = _forbidden(auth, admission.requirement)
    if admission.bucket is not None:
        answers["429"] = (
            "The caller's bucket on this route is empty; retry after Retry-After",
            {"Retry-After": RETRY_AFTER, **RATE_LIMIT_HEADERS},
        )
    return answers


def _unauthorized(requirement: Requirement) -> Answer:
    header = {
        "description": "The credentials the route accepts, and why the one sent was refused "
        '(`error="invalid_token"` with an `error_description`)',
        "required": True,
        "schema": {"type": "string"},
    }
    if requirement.public:
        description = (
            "A credential was sent and is not valid (expired, unknown, badly signed); "
            "callers without any are admitted"
        )
    else:
        description = "Credentials are missing or not valid"
    return description, {"WWW-Authenticate": header}


def _forbidden(auth: AuthConfig, requirement: Requirement) -> Answer:
    headers = {}
    if auth.jwt is not None:  # the challenge names the scopes in bearer terms (RFC 6750)
        headers["WWW-Authenticate"] = {
            "description": 'The scopes missing: `error="insufficient_scope", scope="..."`',
            "required": True,
            "schema": {"type": "string"},
        }
    scopes = ", ".join(requirement.scopes)
    return f"The caller's credential lacks a scope the route needs ({scopes})", headers
