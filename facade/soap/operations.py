"""Find an operation in a loaded WSDL and describe what it takes.

A WSDL may expose the same operation on several ports: the common .NET shape is one
service with a SOAP 1.1 and a SOAP 1.2 port of the same portType. Those twins count as one
choice (SOAP 1.1 wins unless the mapping names a port); distinct services or portTypes
need the mapping to name `service` or `port`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import zeep
from zeep.wsdl.bindings.soap import Soap12Binding, SoapBinding

from facade.soap.zeep_private import port_address

SOAP11 = "1.1"
SOAP12 = "1.2"


class OperationNotFound(LookupError):
    """The mapping names an operation, service or port the WSDL does not have."""


@dataclass(frozen=True)
class Argument:
    """One input argument of an operation: a child of the request body."""

    name: str
    element: Any  # zeep.xsd.Element

    @property
    def required(self) -> bool:
        return bool(self.element.min_occurs) and not self.element.nillable

    @property
    def repeated(self) -> bool:
        return self.element.max_occurs != 1


@dataclass(frozen=True)
class SoapOperation:
    """An operation bound to one SOAP port, with the address it is served at."""

    name: str
    service: str
    port: str
    binding: SoapBinding
    client: zeep.Client
    address: str | None
    arguments: tuple[Argument, ...]
    positional: bool
    """True when the body is one element of simple type, passed as a positional value."""

    @property
    def soap_version(self) -> str:
        return SOAP12 if isinstance(self.binding, Soap12Binding) else SOAP11

    @property
    def zeep_operation(self) -> Any:
        return self.binding.get(self.name)

    @property
    def output_type(self) -> Any:
        """The zeep type of the reply body, None for one-way operations."""
        body = self.zeep_operation.output.body if self.zeep_operation.output else None
        return body.type if body is not None else None

    def argument(self, name: str) -> Argument | None:
        return next((a for a in self.arguments if a.name == name), None)


@dataclass(frozen=True)
class _Candidate:
    service: str
    port: str
    binding: SoapBinding
    address: str | None


def soap_operations(client: zeep.Client) -> dict[str, list[_Candidate]]:
    """Every operation name of every SOAP port (HTTP GET/POST bindings are left out)."""
    found: dict[str, list[_Candidate]] = {}
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if not isinstance(port.binding, SoapBinding):
                continue
            candidate = _Candidate(service.name, port.name, port.binding, port_address(port))
            for name in port.binding.all():
                found.setdefault(name, []).append(candidate)
    return found


def resolve_operation(
    client: zeep.Client, name: str, *, service: str | None = None, port: str | None = None
) -> SoapOperation:
    """The one SOAP port that serves `name`, or OperationNotFound saying how to choose."""
    by_name = soap_operations(client)
    if name not in by_name:
        raise OperationNotFound(_unknown(name, list(by_name)))
    candidates = [
        c
        for c in by_name[name]
        if (service is None or c.service == service) and (port is None or c.port == port)
    ]
    if not candidates:
        where = ", ".join(f"{c.service}/{c.port}" for c in by_name[name])
        raise OperationNotFound(
            f"operation {name!r} is not on service {service or '*'} port {port or '*'} "
            f"(it is on: {where})"
        )
    chosen = _choose(candidates)
    if chosen is None:
        where = ", ".join(f"{c.service}/{c.port}" for c in candidates)
        raise OperationNotFound(
            f"operation {name!r} is on several ports ({where}); name legacy.service or legacy.port"
        )
    return _describe(client, name, chosen)


def _choose(candidates: list[_Candidate]) -> _Candidate | None:
    if len(candidates) == 1:
        return candidates[0]
    port_types = {(c.service, c.binding.port_type.name.text) for c in candidates}
    if len(port_types) != 1:
        return None
    # Twins of one portType (SOAP 1.1 and 1.2, or http and https addresses): the first
    # SOAP 1.1 port in document order serves; the mapping names a port to pick another.
    soap11 = [c for c in candidates if not isinstance(c.binding, Soap12Binding)]
    return soap11[0] if soap11 else None


def _describe(client: zeep.Client, name: str, chosen: _Candidate) -> SoapOperation:
    body = chosen.binding.get(name).input.body
    arguments: tuple[Argument, ...] = ()
    positional = False
    if body is not None:
        elements = getattr(body.type, "elements", None)
        if elements is None:
            positional = True
            arguments = (Argument(body.name, body),)
        else:
            arguments = tuple(Argument(n, e) for n, e in elements)
    return SoapOperation(
        name=name,
        service=chosen.service,
        port=chosen.port,
        binding=chosen.binding,
        client=client,
        address=chosen.address,
        arguments=arguments,
        positional=positional,
    )


def _unknown(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if not known:
        return f"operation {name!r} is not in the WSDL, which has no SOAP operations"
    return f"operation {name!r} is not in the WSDL{hint}"
