"""Rendering: the YAML text of one mapping file, before its header is added."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import yaml
from zeep.xsd import ComplexType

from facade.scaffold.naming import split_words
from facade.scaffold.routes import RouteGuess
from facade.soap.operations import SoapOperation
from facade.soap.zeep_private import SIMPLE_CONTENT_KEY, fault_messages

MOCK_BASE_URL = "http://127.0.0.1:8081"
"""Default backend when the WSDL has no usable address: where `facade mock` listens."""
NOT_FOUND_STATUS = 404
FAULT_STATUS = 400
SUMMARY_LENGTH = 100
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a JMESPath name that needs no quotes


@dataclass(frozen=True)
class MappingDocument:
    """One mapping file to write: its name (the file stem), operation, route and YAML text."""

    name: str
    operation: str
    route: RouteGuess
    text: str


def render_document(
    operation: SoapOperation,
    route: RouteGuess,
    wsdl_name: str,
    service: str | None,
    port: str | None,
    doc: str | None,
    address: str | None = None,
) -> str:
    """The YAML of one mapping: the guessed route, the operation, its faults and address.

    `address` (scaffold's `--address`) is the endpoint to call until a variable says
    otherwise, whatever the WSDL's soap:address.
    """
    text = " ".join(doc.split()) if doc else ""
    summary, description = (
        _summary(text) if text else (f"Calls {operation.name} on {operation.service}", None)
    )
    route_section: dict[str, Any] = {"method": route.method, "path": route.path, "summary": summary}
    if description:
        route_section["description"] = description
    legacy: dict[str, Any] = {"wsdl": wsdl_name, "operation": operation.name}
    if service:
        legacy["service"] = service
    if port:
        legacy["port"] = port
    written = _address(operation, address)
    if written:
        legacy["address"] = written
    if route.request:
        legacy["request"] = route.request
    response = _single_child(operation)
    if response:
        legacy["response"] = response
    legacy["safe"] = route.safe
    faults = _faults(operation)
    if faults:
        legacy["faults"] = faults
    document = {"route": route_section, "legacy": legacy, "migration": {"mode": "legacy"}}
    dumped = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return "# Edit freely: a re-run keeps edited files unless --force is given.\n" + dumped


def _single_child(operation: SoapOperation) -> str | None:
    """The response expression that unwraps a reply of one child (`CapitalCityResult`), so
    clients get the value rather than the WSDL's wrapper around it; None otherwise."""
    output = operation.output_type
    if not isinstance(output, ComplexType) or output.attributes:
        return None
    children = output.elements
    if len(children) != 1 or children[0][0] == SIMPLE_CONTENT_KEY:
        return None
    name = children[0][0]
    return name if _IDENTIFIER.match(name) else json.dumps(name, ensure_ascii=False)


def _summary(text: str) -> tuple[str, str | None]:
    if len(text) <= SUMMARY_LENGTH:
        return text, None
    sentence = text.split(". ", 1)[0].rstrip(".")
    if len(sentence) <= SUMMARY_LENGTH:
        return sentence, text
    return text[: SUMMARY_LENGTH - 3].rsplit(" ", 1)[0] + "...", text


def _address(operation: SoapOperation, override: str | None) -> str | None:
    """`${SERVICE_URL:-override}` when an address is given; `${SERVICE_URL:-loopback}` when
    the WSDL's address cannot be called; else None (the WSDL's address is used)."""
    words = split_words(operation.service)
    if len(words) > 1 and words[-1].lower() == "service":
        words = words[:-1]
    variable = "_".join(w.upper() for w in words) or "SOAP"
    variable = variable if variable[0].isalpha() else f"SOAP_{variable}"
    if override is not None:
        return f"${{{variable}_URL:-{override}}}"
    parsed = urlparse(operation.address or "")
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return None
    path = parsed.path if not parsed.scheme and parsed.path.startswith("/") else None
    path = path or "/" + "-".join(w.lower() for w in words)
    return f"${{{variable}_URL:-{MOCK_BASE_URL}{path}}}"


def address_problem(url: str) -> str | None:
    """Why `url` cannot be a scaffolded endpoint, or None when it can."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        return f"--address must be an http:// or https:// URL with a host, not {url!r}"
    if "$" in url or "}" in url:
        return f"--address must not contain '$' or '}}' (it is written inside ${{...}}): {url!r}"
    return None


def _faults(operation: SoapOperation) -> dict[str, int]:
    """Declared fault detail elements: 404 when the name says NotFound, else 400."""
    faults: dict[str, int] = {}
    for message in fault_messages(operation.zeep_operation).values():
        for part_name, part in message.parts.items():
            qname = getattr(part.element, "qname", None)
            name = qname.localname if qname is not None else part_name
            squashed = re.sub(r"[^a-z]", "", name.lower())
            faults[name] = NOT_FOUND_STATUS if "notfound" in squashed else FAULT_STATUS
    return faults
