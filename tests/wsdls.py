"""Small inline WSDLs for tests, and helpers to load their operations.

int_a = '<xs:element name="A" type="xs:int"/>'
text = wsdl({"Echo": (int_a, int_a)})
operation = load_operation(write_wsdl(tmp_path, "echo.wsdl", text), "Echo")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from facade.soap.loader import load_wsdl
from facade.soap.operations import SoapOperation, resolve_operation

TNS = "http://example.com/test"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
DEFAULT_ADDRESS = "http://127.0.0.1:9/svc"

_BINDING_NS = {
    "1.1": "http://schemas.xmlsoap.org/wsdl/soap/",
    "1.2": "http://schemas.xmlsoap.org/wsdl/soap12/",
}


def wsdl(
    operations: Mapping[str, tuple[str, str]],
    *,
    types: str = "",
    soap: str = "1.1",
    address: str | None = DEFAULT_ADDRESS,
    services: tuple[str, ...] = ("TestService",),
) -> str:
    """A document/literal wrapped WSDL 1.1.

    `operations` maps an operation name to the children (XSD particles, inside an
    xs:sequence) of its request and response wrapper elements. `types` adds named types to
    the schema (prefix `tns:`). Each of `services` gets one port bound to the one binding.
    """
    elements, messages, port_ops, binding_ops = [], [], [], []
    for name, (request, response) in operations.items():
        for element, children in ((name, request), (f"{name}Response", response)):
            elements.append(
                f'<xs:element name="{element}"><xs:complexType><xs:sequence>{children}'
                "</xs:sequence></xs:complexType></xs:element>"
            )
        messages.append(
            f'<wsdl:message name="{name}In"><wsdl:part name="parameters" element="tns:{name}"/>'
            f'</wsdl:message><wsdl:message name="{name}Out">'
            f'<wsdl:part name="parameters" element="tns:{name}Response"/></wsdl:message>'
        )
        port_ops.append(
            f'<wsdl:operation name="{name}"><wsdl:input message="tns:{name}In"/>'
            f'<wsdl:output message="tns:{name}Out"/></wsdl:operation>'
        )
        binding_ops.append(
            f'<wsdl:operation name="{name}"><soap:operation soapAction="{TNS}/{name}" '
            'style="document"/><wsdl:input><soap:body use="literal"/></wsdl:input>'
            '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        )
    location = "" if address is None else f'<soap:address location="{address}"/>'
    service_xml = "".join(
        f'<wsdl:service name="{service}"><wsdl:port name="{service}Port" '
        f'binding="tns:TestBinding">{location}</wsdl:port></wsdl:service>'
        for service in services
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="{_BINDING_NS[soap]}" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="{TNS}" targetNamespace="{TNS}">
  <wsdl:types>
    <xs:schema elementFormDefault="qualified" targetNamespace="{TNS}">
      {types}
      {"".join(elements)}
    </xs:schema>
  </wsdl:types>
  {"".join(messages)}
  <wsdl:portType name="TestPortType">{"".join(port_ops)}</wsdl:portType>
  <wsdl:binding name="TestBinding" type="tns:TestPortType">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    {"".join(binding_ops)}
  </wsdl:binding>
  {service_xml}
</wsdl:definitions>
"""


def write_wsdl(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load_operation(path: Path, name: str) -> SoapOperation:
    """Operation `name` of the WSDL at `path`, loaded as the facade loads it."""
    return resolve_operation(load_wsdl(path).client, name)


def two_part_operation(folder: Path) -> SoapOperation:
    """Operation `Pair` whose input message has two parts (`Left`, `Right`), not one
    wrapping element: what the compiled pieces leave to zeep."""
    text = wsdl({"Pair": ("", "")}).replace(
        '<wsdl:part name="parameters" element="tns:Pair"/>',
        '<wsdl:part name="left" element="tns:Left"/><wsdl:part name="right" element="tns:Right"/>',
    )
    text = text.replace(
        "</xs:schema>",
        '<xs:element name="Left" type="xs:int"/><xs:element name="Right" type="xs:int"/>'
        "</xs:schema>",
    )
    return load_operation(write_wsdl(folder, "pair.wsdl", text), "Pair")


def envelope(body: str, version: str = "1.1") -> str:
    namespace = SOAP11_ENV if version == "1.1" else SOAP12_ENV
    return f'<s:Envelope xmlns:s="{namespace}"><s:Body>{body}</s:Body></s:Envelope>'
