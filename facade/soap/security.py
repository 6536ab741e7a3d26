"""What a SOAP request carries besides its arguments: WS-Security and header elements.

    signer = username_token("crm-user", password, digest=True)
    headers = header_elements({"{urn:ctx}Tenant": "acme"})
    build_request(operation, arguments, url, soap_headers=headers, signer=signer)

The token is zeep's documented WS-Security plugin (`zeep.wsse.username.UsernameToken`),
applied to each envelope, so a digest gets a fresh nonce and timestamp on every call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lxml import etree
from zeep.wsse.username import UsernameToken

from facade.errors import FieldProblem, InvalidRequest


class EnvelopeSigner(Protocol):
    """zeep's WS-Security plugin interface: adds its header to the envelope it is given."""

    def apply(
        self, envelope: etree._Element, headers: dict[str, str]
    ) -> tuple[etree._Element, dict[str, str]]: ...


def username_token(username: str, password: str, *, digest: bool = False) -> EnvelopeSigner:
    """A UsernameToken with PasswordText, or PasswordDigest (SHA-1 of nonce + created +
    password, WSS UsernameToken Profile 1.0) when `digest`."""
    token: EnvelopeSigner = UsernameToken(username, password, use_digest=digest)
    return token


def header_elements(values: Mapping[str, Any]) -> list[etree._Element]:
    """One element per header with a value (null leaves it out); its text is the value.

    A header names a scalar: an object or array from the client is a 422 at the expression
    that read it; text that XML cannot carry (control characters) is refused the same way.
    """
    elements = []
    problems = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, dict | list):
            problems.append(FieldProblem(name, "must be a single value, not an object or array"))
            continue
        text = _text(value)
        try:
            element = etree.Element(name)
            element.text = text
        except ValueError:
            problems.append(FieldProblem(name, "holds characters XML cannot carry"))
            continue
        elements.append(element)
    if problems:
        raise InvalidRequest(problems)
    return elements


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
