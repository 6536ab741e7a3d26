"""The credentials toward a legacy system, as pydantic models: a mapping's `legacy.auth`,
and facade.yaml's per-WSDL defaults (`legacy: {crm.wsdl: {auth: ...}}`) have this one form.

    auth:
      username_token: {username: facade, password: ${CRM_WSSE_PASSWORD}, digest: true}
      basic: {username: facade, password: file:secrets/crm-password}
      tls: {cert: certs/client.pem, key: certs/client.key, ca: certs/legacy-ca.pem}
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from facade.strict import StrictModel

SECRET_REFERENCE = r"^(\$\{[A-Za-z_][A-Za-z0-9_]*\}|file:.+)$"  # noqa: S105 - a pattern
"""A secret is named, never written: `${VAR}` (an environment variable) or `file:PATH` (a
file holding it, relative to the mapping file; one trailing newline is dropped)."""
_SECRET = re.compile(SECRET_REFERENCE)


def _secret_reference(value: str) -> str:
    if not _SECRET.match(value):
        raise ValueError(
            "is written literally; name the secret instead: ${VAR} (an environment "
            "variable) or file:PATH (a file holding it)"
        )
    return value


class UsernameTokenSection(StrictModel):
    """WS-Security UsernameToken in the SOAP header of every call (OASIS WSS 1.0)."""

    username: str = Field(min_length=1, description="The user name; `${VAR}` expands.")
    password: str = Field(
        description="`${VAR}` or `file:PATH`; a literal password is refused.",
        json_schema_extra={"pattern": SECRET_REFERENCE},
        examples=["${CRM_WSSE_PASSWORD}", "file:/run/secrets/crm-password"],
    )
    digest: bool = Field(
        default=False,
        description=(
            "Send PasswordDigest (SHA-1 of nonce, created and password) instead of the "
            "password text."
        ),
    )

    _password = field_validator("password")(_secret_reference)


class BasicAuthSection(StrictModel):
    """HTTP basic authentication (`Authorization: Basic ...`) on every call."""

    username: str = Field(min_length=1, description="The user name; `${VAR}` expands.")
    password: str = Field(
        description="`${VAR}` or `file:PATH`; a literal password is refused.",
        json_schema_extra={"pattern": SECRET_REFERENCE},
        examples=["${CRM_PASSWORD}"],
    )

    _password = field_validator("password")(_secret_reference)


class TlsSection(StrictModel):
    """TLS toward the legacy address (https): a client certificate and the CAs trusted.
    Paths are PEM files, relative to the mapping file."""

    cert: str | None = Field(default=None, description="Client certificate chain (PEM).")
    key: str | None = Field(
        default=None, description="The certificate's private key (PEM, unencrypted)."
    )
    ca: str | None = Field(
        default=None,
        description=(
            "CA bundle (PEM) trusted for the legacy server instead of the system's, "
            "e.g. for a self-signed legacy certificate."
        ),
    )

    @model_validator(mode="after")
    def _cert_with_key(self) -> TlsSection:
        if (self.cert is None) != (self.key is None):
            raise ValueError("give cert and key together (the client certificate and its key)")
        if self.cert is None and self.ca is None:
            raise ValueError("give cert and key, or ca, or both")
        return self


class LegacyAuthSection(StrictModel):
    """How the facade proves itself to the legacy system; any combination."""

    username_token: UsernameTokenSection | None = Field(
        default=None, description="WS-Security UsernameToken in the SOAP header."
    )
    basic: BasicAuthSection | None = Field(default=None, description="HTTP basic auth.")
    tls: TlsSection | None = Field(
        default=None, description="Client certificate and trusted CAs (https addresses)."
    )
