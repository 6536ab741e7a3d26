"""Each undocumented zeep API in facade.soap.zeep_private, against real WSDLs.

A zeep upgrade that moves one of them fails the test named after it here, rather than
somewhere deep in a reply or a schema.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from wsdls import SOAP11_ENV, TNS, envelope, load_operation, two_part_operation, write_wsdl, wsdl
from zeep.xsd import Choice, ComplexType, Element, Sequence

from facade.soap import zeep_private
from facade.soap.loader import load_wsdl
from facade.soap.operations import SoapOperation, resolve_operation, soap_operations

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"
XSD = "http://www.w3.org/2001/XMLSchema"
ADDRESS = "http://127.0.0.1:9/crm"

CUSTOMER = """<Customer><Id>7</Id><Name>Ann</Name><Email>ann@example.com</Email>
<Status>active</Status><Balance>12.50</Balance><CreatedAt>2024-01-02T03:04:05Z</CreatedAt>
<Address><Street>Main 1</Street><City>Graz</City><PostalCode>8010</PostalCode>
<Country>AT</Country></Address>{extra}</Customer>"""


@pytest.fixture(scope="module")
def get_customer() -> SoapOperation:
    return resolve_operation(load_wsdl(ROOT / "wsdl" / "crm.wsdl").client, "GetCustomer")


def _reply_body(customer: str) -> etree._Element:
    text = envelope(f'<GetCustomerResponse xmlns="{CRM}">{customer}</GetCustomerResponse>')
    body = etree.fromstring(text).find(f"{{{SOAP11_ENV}}}Body")
    assert body is not None
    return body


def _customer(operation: SoapOperation, extra: str = "") -> Any:
    output = operation.zeep_operation.output
    return zeep_private.deserialize_body(output, _reply_body(CUSTOMER.format(extra=extra)))


def test_create_envelope(get_customer: SoapOperation) -> None:
    envelope, headers = zeep_private.create_envelope(
        get_customer.binding,
        "GetCustomer",
        (),
        {"CustomerId": 7},
        client=get_customer.client,
        address=ADDRESS,
    )
    assert etree.QName(envelope).text == f"{{{SOAP11_ENV}}}Envelope"
    assert (
        envelope.findtext(f"{{{SOAP11_ENV}}}Body/{{{CRM}}}GetCustomer/{{{CRM}}}CustomerId") == "7"
    )
    assert headers["SOAPAction"] == '"http://example.com/crm/GetCustomer"'
    assert headers["Content-Type"].startswith("text/xml")


def test_deserialize_body(get_customer: SoapOperation) -> None:
    result = _customer(get_customer)
    assert result.Customer.Id == 7
    assert result.Customer.Address.City == "Graz"


def test_is_body_wrapped(tmp_path: Path, get_customer: SoapOperation) -> None:
    pair = two_part_operation(tmp_path)
    assert zeep_private.is_body_wrapped(pair.zeep_operation.input) is True
    assert zeep_private.is_body_wrapped(get_customer.zeep_operation.input) is False


def test_parse_element(get_customer: SoapOperation) -> None:
    wsdl_ = get_customer.client.wsdl
    element = get_customer.zeep_operation.input.body
    node = etree.fromstring(f'<GetCustomer xmlns="{CRM}"><CustomerId>7</CustomerId></GetCustomer>')
    assert zeep_private.parse_element(element, node, wsdl_).CustomerId == 7


def test_is_compound(get_customer: SoapOperation) -> None:
    customer = _customer(get_customer).Customer
    assert zeep_private.is_compound(customer)
    assert not zeep_private.is_compound({"Id": 7})


def test_compound_type(get_customer: SoapOperation) -> None:
    customer = _customer(get_customer).Customer
    assert zeep_private.compound_type(customer).qname == etree.QName(CRM, "Customer")


def test_compound_items(get_customer: SoapOperation) -> None:
    customer = _customer(get_customer).Customer
    items = dict(zeep_private.compound_items(customer))
    assert list(items)[:3] == ["Id", "Name", "Email"]
    assert items["Id"] == 7
    assert items["Tags"] == []


def test_raw_elements_key(get_customer: SoapOperation) -> None:
    # the facade loads WSDLs strict and then reads replies leniently
    customer = _customer(get_customer, extra="<Loyalty>gold</Loyalty>").Customer
    raw = dict(zeep_private.compound_items(customer))[zeep_private.RAW_ELEMENTS_KEY]
    assert [etree.QName(e).localname for e in raw] == ["Loyalty"]


def test_simple_content_key(tmp_path: Path) -> None:
    types = """<xs:complexType name="Money"><xs:simpleContent>
      <xs:extension base="xs:decimal"><xs:attribute name="currency" type="xs:string"/>
      </xs:extension></xs:simpleContent></xs:complexType>"""
    text = wsdl({"Pay": ('<xs:element name="Amount" type="tns:Money"/>', "")}, types=types)
    operation = load_operation(write_wsdl(tmp_path, "pay.wsdl", text), "Pay")
    money = operation.client.wsdl.types.get_type(f"{{{TNS}}}Money")
    assert [name for name, _ in money.elements] == [zeep_private.SIMPLE_CONTENT_KEY]
    node = etree.fromstring(f'<Amount xmlns="{TNS}" currency="EUR">1.50</Amount>')
    value = operation.arguments[0].element.parse(node, operation.client.wsdl.types)
    items = dict(zeep_private.compound_items(value))
    assert str(items[zeep_private.SIMPLE_CONTENT_KEY]) == "1.50"
    assert items["currency"] == "EUR"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def unreadable_values() -> Iterator[list[logging.LogRecord]]:
    handler = _Records()
    logger = logging.getLogger(zeep_private.UNREADABLE_VALUE_LOGGER)
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def test_unreadable_value_logger(
    get_customer: SoapOperation, unreadable_values: list[logging.LogRecord]
) -> None:
    output = get_customer.zeep_operation.output
    customer = CUSTOMER.format(extra="").replace("<Id>7</Id>", "<Id>seven</Id>")
    result = zeep_private.deserialize_body(output, _reply_body(customer))
    assert result.Customer.Id is None
    assert len(unreadable_values) == 1


def test_builtin_qname(get_customer: SoapOperation) -> None:
    types = get_customer.client.wsdl.types
    status = types.get_type(f"{{{CRM}}}CustomerStatus")  # a restriction of xs:string
    assert zeep_private.builtin_qname(status) == etree.QName(XSD, "string")
    assert zeep_private.builtin_qname(types.get_type(f"{{{XSD}}}int")) == etree.QName(XSD, "int")
    assert zeep_private.builtin_qname(types.get_type(f"{{{CRM}}}Customer")) is None


def test_nested_particles(tmp_path: Path) -> None:
    children = """<xs:element name="Id" type="xs:int"/>
      <xs:choice><xs:element name="Email" type="xs:string"/>
      <xs:element name="Phone" type="xs:string"/></xs:choice>"""
    operation = load_operation(
        write_wsdl(tmp_path, "reach.wsdl", wsdl({"Reach": (children, "")})), "Reach"
    )
    wrapper = operation.zeep_operation.input.body.type
    assert isinstance(wrapper, ComplexType)
    [(name, sequence)] = zeep_private.nested_particles(wrapper)
    assert isinstance(sequence, Sequence)
    (id_name, id_element), (_, choice) = zeep_private.nested_particles(sequence)
    assert (id_name, type(id_element)) == ("Id", Element)
    assert isinstance(choice, Choice)
    assert [n for n, _ in zeep_private.nested_particles(choice)] == ["Email", "Phone"]


def test_port_address(get_customer: SoapOperation) -> None:
    ports = get_customer.client.wsdl.services["CrmService"].ports
    assert zeep_private.port_address(ports["CrmServiceSoap12"]) == "http://127.0.0.1:8081/crm"


def test_fault_messages(get_customer: SoapOperation) -> None:
    faults = zeep_private.fault_messages(get_customer.zeep_operation)
    assert list(faults) == ["CustomerNotFound"]
    [part] = faults["CustomerNotFound"].parts.values()
    assert part.element.qname == etree.QName(CRM, "CustomerNotFound")


SOAPENC_WSDL = """<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="urn:shop"
    xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:shop">
  <types><xs:schema targetNamespace="urn:shop">
    <xs:import namespace="http://schemas.xmlsoap.org/soap/encoding/"/>
    <xs:complexType name="IdList"><xs:complexContent><xs:restriction base="soapenc:Array">
      <xs:attribute ref="soapenc:arrayType" wsdl:arrayType="xs:int[]"/>
    </xs:restriction></xs:complexContent></xs:complexType>
    <xs:complexType name="Plain"><xs:sequence>
      <xs:element name="Id" type="xs:int"/></xs:sequence></xs:complexType>
  </xs:schema></types>
  <message name="In"><part name="ids" type="tns:IdList"/></message>
  <message name="Out"><part name="result" type="tns:Plain"/></message>
  <portType name="P"><operation name="Find"><input message="tns:In"/>
    <output message="tns:Out"/></operation></portType>
  <binding name="B" type="tns:P">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Find"><soap:operation soapAction="find"/>
      <input><soap:body use="encoded" namespace="urn:shop"
        encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></input>
      <output><soap:body use="encoded" namespace="urn:shop"
        encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"/></output>
    </operation>
  </binding>
  <service name="S"><port name="Port" binding="tns:B">
    <soap:address location="http://127.0.0.1:9/shop"/></port></service>
</definitions>
"""


def test_soapenc_array_attribute(tmp_path: Path) -> None:
    types = load_wsdl(write_wsdl(tmp_path, "shop.wsdl", SOAPENC_WSDL)).client.wsdl.types
    attribute = zeep_private.soapenc_array_attribute(types.get_type("{urn:shop}IdList"))
    assert attribute is not None
    assert attribute.array_type == types.get_type(f"{{{XSD}}}int")
    assert zeep_private.soapenc_array_attribute(types.get_type("{urn:shop}Plain")) is None


def test_complex_particle(tmp_path: Path, get_customer: SoapOperation) -> None:
    customer = get_customer.output_type.elements[0][1].type
    assert isinstance(zeep_private.complex_particle(customer), Sequence)
    types = (
        '<xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">'
        '<xs:attribute name="currency" type="xs:string"/></xs:extension></xs:simpleContent>'
        '</xs:complexType><xs:complexType name="Empty"/>'
    )
    text = wsdl({"Get": ("", '<xs:element name="M" type="tns:Money"/>')}, types=types)
    schema = load_wsdl(write_wsdl(tmp_path, "money.wsdl", text)).client.wsdl.types
    content = zeep_private.complex_particle(schema.get_type(f"{{{TNS}}}Money"))
    assert isinstance(content, Element) and content.name == zeep_private.SIMPLE_CONTENT_KEY
    assert zeep_private.complex_particle(schema.get_type(f"{{{TNS}}}Empty")) is None


def test_is_document_message(tmp_path: Path, get_customer: SoapOperation) -> None:
    assert zeep_private.is_document_message(get_customer.zeep_operation.output) is True
    client = load_wsdl(write_wsdl(tmp_path, "shop.wsdl", SOAPENC_WSDL)).client
    [name] = list(soap_operations(client))
    rpc = resolve_operation(client, name)
    assert zeep_private.is_document_message(rpc.zeep_operation.output) is False


def test_custom_prefixes(tmp_path: Path) -> None:
    client = load_wsdl(ROOT / "wsdl" / "crm.wsdl").client
    assert zeep_private.custom_prefixes(client) == {}
    client.set_ns_prefix("crm", CRM)
    assert zeep_private.custom_prefixes(client) == {"crm": CRM}


def test_addressing_action(tmp_path: Path, get_customer: SoapOperation) -> None:
    text = wsdl({"Get": ("", "")}).replace(
        '<wsdl:input message="tns:GetIn"/>',
        '<wsdl:input message="tns:GetIn" xmlns:wsam="http://www.w3.org/2007/05/addressing/metadata"'
        ' wsam:Action="urn:get"/>',
    )
    operation = load_operation(write_wsdl(tmp_path, "wsa.wsdl", text), "Get")
    assert zeep_private.addressing_action(operation.zeep_operation) == "urn:get"
    assert zeep_private.addressing_action(get_customer.zeep_operation) is None
