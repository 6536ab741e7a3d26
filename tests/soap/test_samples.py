"""Sample values: every corpus operation's sample serializes with zeep and reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from facade.errors import ConfigError
from facade.net import Reply
from facade.soap.loader import load_wsdl
from facade.soap.message import read_reply
from facade.soap.operations import resolve_operation, soap_operations
from facade.soap.samples import MAX_DEPTH, _simple, sample_type
from facade.translate.response import to_json


def _operations(corpus: Path) -> list[tuple[Path, str]]:
    found = []
    for path in sorted(corpus.rglob("*.wsdl")):
        try:
            client = load_wsdl(path).client
        except ConfigError:
            continue
        found.extend((path, name) for name in soap_operations(client))
    return found


def test_every_corpus_output_sample_survives_a_reply_round_trip(corpus: Path) -> None:
    checked = 0
    for path, name in _operations(corpus):
        client = load_wsdl(path).client
        ports = soap_operations(client)[name]
        operation = resolve_operation(client, name, service=ports[0].service, port=ports[0].port)
        if operation.output_type is None:
            continue
        sample = sample_type(operation.output_type)
        envelope = operation.zeep_operation.output.serialize(**sample).content
        reply = Reply(200, {}, etree.tostring(envelope))
        result = to_json(read_reply(operation, reply), "string", operation.output_type)
        assert isinstance(result, dict), f"{path.name} {name}"
        checked += 1
    assert checked > 50


def test_recursive_types_end(tmp_path: Path) -> None:
    wsdl = tmp_path / "tree.wsdl"
    wsdl.write_text(
        """<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:t" targetNamespace="urn:t">
  <types><xs:schema targetNamespace="urn:t" elementFormDefault="qualified">
    <xs:complexType name="Node"><xs:sequence>
      <xs:element name="Label" type="xs:string"/>
      <xs:element name="Child" type="tns:Node" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
    <xs:element name="Get"><xs:complexType><xs:sequence/></xs:complexType></xs:element>
    <xs:element name="GetResponse"><xs:complexType><xs:sequence>
      <xs:element name="Root" type="tns:Node"/>
    </xs:sequence></xs:complexType></xs:element>
  </xs:schema></types>
  <message name="In"><part name="p" element="tns:Get"/></message>
  <message name="Out"><part name="p" element="tns:GetResponse"/></message>
  <portType name="P"><operation name="Get"><input message="tns:In"/>
    <output message="tns:Out"/></operation></portType>
  <binding name="B" type="tns:P"><soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Get"><soap:operation soapAction="Get"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation></binding>
  <service name="S"><port name="SP" binding="tns:B">
    <soap:address location="http://127.0.0.1:9/"/></port></service>
</definitions>"""
    )
    operation = resolve_operation(load_wsdl(wsdl).client, "Get")
    sample = sample_type(operation.output_type)
    depth, node = 0, sample["Root"]
    while node.get("Child"):
        node, depth = node["Child"][0], depth + 1
    assert 0 < depth <= MAX_DEPTH


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("int", 1),
        ("positiveInteger", 1),
        ("nonPositiveInteger", 0),
        ("negativeInteger", -1),
        ("boolean", True),
    ],
)
def test_simple_samples_fit_their_type(base: str, expected: object) -> None:
    assert _simple(base) == expected
