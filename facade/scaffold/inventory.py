"""The WSDL inventory: its SOAP operations, their documentation, and how a mapping names them.

Ports with HTTP GET/POST bindings are left out with a note; SOAP 1.1 and 1.2 twins of an
operation are one operation; an operation several services offer is named with the
service or port the mapping must give.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lxml import etree
from zeep.wsdl.bindings.soap import Soap12Binding, SoapBinding
from zeep.xsd import AnySimpleType

from facade.errors import ConfigError, ConfigProblem
from facade.scaffold.routes import Param
from facade.soap.operations import (
    OperationNotFound,
    SoapOperation,
    resolve_operation,
    soap_operations,
)
from facade.translate.xml import parse_xml_file

_WSDL11 = "http://schemas.xmlsoap.org/wsdl/"


def operation_groups(client: Any) -> list[tuple[str, list[Any]]]:
    """(operation, SOAP ports) per operation of each portType: SOAP 1.1/1.2 twins are one."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for name, candidates in soap_operations(client).items():
        for candidate in candidates:
            key = (name, candidate.binding.port_type.name.text)
            groups.setdefault(key, []).append(candidate)
    return [(name, candidates) for (name, _), candidates in groups.items()]


def resolvable(
    client: Any, name: str, candidates: list[Any]
) -> tuple[SoapOperation, str | None, str | None]:
    """The operation, and the service/port the mapping must name for it (None when not needed)."""
    port_type = candidates[0].binding.port_type.name.text
    try:
        default = resolve_operation(client, name)
        if default.binding.port_type.name.text == port_type:
            return default, None, None
    except OperationNotFound:
        pass
    chosen = min(
        enumerate(candidates),
        key=lambda ic: (
            isinstance(ic[1].binding, Soap12Binding),
            urlparse(ic[1].address or "").scheme != "https",
            ic[0],
        ),
    )[1]
    try:
        by_port = resolve_operation(client, name, port=chosen.port)
        if (by_port.service, by_port.port) == (chosen.service, chosen.port):
            return by_port, None, chosen.port
    except OperationNotFound:
        pass
    operation = resolve_operation(client, name, service=chosen.service, port=chosen.port)
    return operation, chosen.service, chosen.port


def non_soap_ports(client: Any) -> tuple[list[str], list[str]]:
    """Notes on ports left out, and the operations only those ports offer."""
    notes: list[str] = []
    soap_names = set(soap_operations(client))
    http_only: dict[str, None] = {}
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if isinstance(port.binding, SoapBinding):
                continue
            operations = [operation.name for operation in port.binding.all().values()]
            kind = type(port.binding).__name__.removesuffix("Binding")
            kind = {"HttpGet": "HTTP GET", "HttpPost": "HTTP POST"}.get(kind, kind)
            count = f" ({_count(len(operations), 'operation')})" if operations else ""
            notes.append(f"port {service.name}/{port.name} has an {kind} binding{count}: left out")
            http_only.update((o, None) for o in operations if o not in soap_names)
    return notes, list(http_only)


def no_operations(client: Any, http_only: list[str]) -> str:
    """Why a WSDL gives nothing to scaffold, in words the user can act on."""
    ports = [
        (service.name, port.name, port.binding)
        for service in client.wsdl.services.values()
        for port in service.ports.values()
    ]
    if not ports:
        return "has no SOAP operations to scaffold: it declares no wsdl:service with ports"
    if not any(isinstance(binding, SoapBinding) for _, _, binding in ports):
        return (
            "has no SOAP operations to scaffold: its ports use HTTP GET/POST bindings only "
            f"({_count(len(http_only), 'operation')}), which the facade does not call"
        )
    empty = ", ".join(f"{s}/{p}" for s, p, b in ports if isinstance(b, SoapBinding))
    return f"has no SOAP operations to scaffold: its SOAP ports ({empty}) bind none"


def documentation(documents: Iterable[Path]) -> dict[tuple[str, str], str]:
    """wsdl:documentation of each portType operation, by (portType QName text, operation)."""
    found: dict[tuple[str, str], str] = {}
    for path in documents:
        try:
            root = parse_xml_file(path)
        except (OSError, etree.XMLSyntaxError):
            continue  # zeep read it already; a missing comment is no reason to fail
        if root.tag != f"{{{_WSDL11}}}definitions":
            continue
        namespace = root.get("targetNamespace")
        for port_type in root.iterfind(f"{{{_WSDL11}}}portType"):
            qname = etree.QName(namespace, port_type.get("name", "")).text
            for operation in port_type.iterfind(f"{{{_WSDL11}}}operation"):
                doc = operation.find(f"{{{_WSDL11}}}documentation")
                text = "".join(doc.itertext()).strip() if doc is not None else ""
                if text:
                    found.setdefault((qname, operation.get("name", "")), text)
    return found


def param_of(argument: Any) -> Param:
    """What the naming rules need to know of a zeep operation argument."""
    return Param(
        argument.name,
        isinstance(getattr(argument.element, "type", None), AnySimpleType),
        argument.repeated,
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def relative_wsdl_name(wsdl_file: Path, wsdl_dir: Path) -> str:
    """The WSDL as `legacy.wsdl` names it: its path relative to the WSDL folder."""
    if not wsdl_file.is_file():
        raise ConfigError([ConfigProblem(str(wsdl_file), "", "is not a file")])
    try:
        return wsdl_file.resolve().relative_to(wsdl_dir.resolve()).as_posix()
    except ValueError:
        raise ConfigError(
            [
                ConfigProblem(
                    str(wsdl_file),
                    "",
                    f"is not inside the WSDL folder {wsdl_dir}; mappings name WSDLs relative "
                    "to it (set --wsdl to a folder that holds the file)",
                )
            ]
        ) from None


def located(problem: ConfigProblem, wsdl_file: Path) -> ConfigProblem:
    """A problem placed in the WSDL file when it names no file of its own."""
    if problem.file:
        return problem
    return ConfigProblem(str(wsdl_file), "", problem.message)
