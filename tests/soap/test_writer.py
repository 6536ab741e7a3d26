"""The compiled request writer writes zeep's bytes, or declines.

Property: for every SOAP port of every operation of the demo WSDL and of every corpus WSDL
that loads, arguments coerced from JSON near the input schema (schema_gen.py) are written
both ways; when the writer writes, its bytes are zeep's, and it never writes a request that
zeep refuses.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import drawn, wsdl_files, wsdl_label
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from schema_gen import near
from wsdls import SOAP11_ENV, SOAP12_ENV, load_operation, two_part_operation, write_wsdl, wsdl
from zeep.xsd.const import Nil

from facade import routetable
from facade.errors import ConfigError, InvalidRequest
from facade.soap.facets import FacetIndex
from facade.soap.jsonschema import SchemaBuilder
from facade.soap.loader import load_wsdl
from facade.soap.message import build_request
from facade.soap.operations import SoapOperation, resolve_operation, soap_operations
from facade.soap.security import header_elements, username_token
from facade.soap.writer import Declined, RequestWriter, Unsupported, compile_writer
from facade.translate.request import ArgumentSource, build_arguments, compile_expression

URL = "http://127.0.0.1:9/svc"
PREFIX = "#/components/schemas/"
EXAMPLES = 30
REFUSED = "refused"


def zeep_bytes(operation: SoapOperation, arguments: dict[str, Any]) -> Any:
    try:
        return build_request(operation, arguments, URL).content
    except InvalidRequest:
        return REFUSED


def coerced(operation: SoapOperation, value: Any) -> dict[str, Any] | None:
    """The arguments the facade would pass for a JSON body, None when it refuses them."""
    sources = tuple(
        ArgumentSource(a.name, compile_expression(f'body."{a.name}"'), a.element)
        for a in operation.arguments
    )
    try:
        return build_arguments(sources, {"body": value})
    except InvalidRequest:
        return None


def ports(path: Path) -> tuple[list[tuple[SoapOperation, RequestWriter, Any]], Any]:
    """Each (operation on a SOAP port, its writer, its input schema), and the components."""
    loaded = load_wsdl(path)
    builder = SchemaBuilder(FacetIndex.from_documents(loaded.documents), PREFIX)
    found = []
    for name, candidates in soap_operations(loaded.client).items():
        for candidate in candidates:
            operation = resolve_operation(
                loaded.client, name, service=candidate.service, port=candidate.port
            )
            try:
                writer = compile_writer(operation)
            except Unsupported:
                continue
            found.append((operation, writer, builder.message(operation.zeep_operation.input.body)))
    return found, builder.defs


@pytest.mark.parametrize("path", wsdl_files(), ids=wsdl_label)
def test_the_writer_writes_zeeps_bytes_for_every_operation(path: Path) -> None:
    try:
        found, components = ports(path)
    except ConfigError:
        pytest.skip("zeep does not load this WSDL")
    if not found:
        pytest.skip("the writer writes none of its operations")
    written: list[bool] = []

    def resolve(ref: str) -> dict[str, Any]:
        return dict(components[ref.removeprefix(PREFIX)])

    @drawn(EXAMPLES)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(found) - 1), label="operation")
        operation, writer, schema = found[index]
        arguments = coerced(operation, data.draw(near(schema, resolve), label="body"))
        if arguments is None:
            return
        try:
            content, headers = writer.write(arguments)
        except Declined:
            return
        expected = build_request(operation, arguments, URL)  # InvalidRequest: a failure
        assert content == expected.content
        assert headers == dict(expected.headers)
        written.append(True)

    check()
    assert written, "the writer declined every generated request"


KITCHEN_TYPES = """
<xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">
  <xs:attribute name="currency" type="xs:string" use="required"/>
  <xs:attribute name="rate" type="xs:double"/>
</xs:extension></xs:simpleContent></xs:complexType>
<xs:complexType name="Node"><xs:sequence>
  <xs:element name="Label" type="xs:string"/>
  <xs:element name="Child" type="tns:Node" minOccurs="0" maxOccurs="2"/>
</xs:sequence><xs:attribute name="depth" type="xs:int"/></xs:complexType>
<xs:complexType name="Unordered"><xs:all>
  <xs:element name="X" type="xs:int" minOccurs="0"/>
  <xs:element name="Y" type="xs:boolean"/>
</xs:all></xs:complexType>
<xs:complexType name="Empty"/>
"""
KITCHEN_REQUEST = (
    '<xs:element name="Price" type="tns:Money" minOccurs="0"/>'
    '<xs:element name="Tree" type="tns:Node" minOccurs="0"/>'
    '<xs:element name="Pair" type="tns:Unordered" minOccurs="0"/>'
    '<xs:element name="Nothing" type="tns:Empty" minOccurs="0"/>'
    '<xs:element name="Other" xmlns:o="urn:other" type="xs:string" minOccurs="0"/>'
    '<xs:element name="Note" type="xs:string" nillable="true"/>'
    '<xs:element name="When" type="xs:dateTime" minOccurs="0" nillable="true"/>'
    '<xs:element name="Day" type="xs:date" minOccurs="0"/>'
    '<xs:element name="Ratio" type="xs:float" minOccurs="0"/>'
    '<xs:element name="Blob" type="xs:base64Binary" minOccurs="0"/>'
    '<xs:element name="Tags" type="xs:string" minOccurs="0" maxOccurs="3"/>'
)


@pytest.mark.parametrize(("soap", "form"), [("1.1", "qualified"), ("1.2", "unqualified")])
def test_the_writer_writes_zeeps_bytes_on_every_construct_it_writes(
    tmp_path: Path, soap: str, form: str
) -> None:
    text = wsdl({"Put": (KITCHEN_REQUEST, "")}, types=KITCHEN_TYPES, soap=soap)
    text = text.replace('elementFormDefault="qualified"', f'elementFormDefault="{form}"')
    path = write_wsdl(tmp_path, "kitchen.wsdl", text)
    found, _ = ports(path)
    assert [operation.name for operation, _, _ in found] == ["Put"]
    _compare_all(path, examples=150)


def _compare_all(path: Path, examples: int) -> None:
    found, components = ports(path)
    written = []

    @drawn(examples)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        operation, writer, schema = found[0]
        body = data.draw(near(schema, lambda ref: components[ref.removeprefix(PREFIX)]))
        arguments = coerced(operation, body)
        if arguments is None:
            return
        try:
            content, _ = writer.write(arguments)
        except Declined:
            return
        assert content == build_request(operation, arguments, URL).content
        written.append(True)

    check()
    assert written


# --- through build_request ----------------------------------------------------------------

GET = wsdl({"Get": ('<xs:element name="Id" type="xs:int"/>', "")})


@pytest.fixture
def get(tmp_path: Path) -> SoapOperation:
    return load_operation(write_wsdl(tmp_path, "get.wsdl", GET), "Get")


def test_build_request_writes_with_the_writer(get: SoapOperation) -> None:
    writer = compile_writer(get)
    request = build_request(get, {"Id": 7}, URL, writer=writer)
    assert request.content == build_request(get, {"Id": 7}, URL).content
    assert b"<ns0:Id>7</ns0:Id>" in request.content


def test_what_the_writer_declines_zeep_writes_or_refuses(get: SoapOperation) -> None:
    writer = compile_writer(get)
    with pytest.raises(Declined):
        writer.write({"Id": 7, "Unknown": 1})
    with pytest.raises(InvalidRequest):  # zeep's own refusal, as without the writer
        build_request(get, {"Id": 7, "Unknown": 1}, URL, writer=writer)
    with pytest.raises(Declined):
        writer.write({"Id": "a\x01b"})


def test_soap_headers_go_through_zeep(get: SoapOperation) -> None:
    headers = header_elements({"{urn:ctx}Tenant": "acme"})
    request = build_request(get, {"Id": 7}, URL, soap_headers=headers, writer=compile_writer(get))
    assert request.content == build_request(get, {"Id": 7}, URL, soap_headers=headers).content
    assert b"<ns0:Tenant" in request.content or b"Tenant" in request.content


_FRESH = re.compile(rb"(</?wsse:Password[^>]*>|</?wsse:Nonce[^>]*>|</?wsu:Created[^>]*>)[^<]*")


@pytest.mark.parametrize("digest", [False, True])
def test_the_signer_signs_the_written_envelope(get: SoapOperation, digest: bool) -> None:
    signer = username_token("crm-user", "secret", digest=digest)
    written = build_request(get, {"Id": 7}, URL, signer=signer, writer=compile_writer(get))
    by_zeep = build_request(get, {"Id": 7}, URL, signer=signer)
    # a digest has a fresh nonce and time on every call: all else is the same bytes
    assert _FRESH.sub(rb"\1", written.content) == _FRESH.sub(rb"\1", by_zeep.content)
    assert written.headers == by_zeep.headers
    envelope = etree.fromstring(written.content)
    assert envelope.find(f"{{{SOAP11_ENV}}}Header") is not None


def test_a_soap12_envelope_and_headers(tmp_path: Path) -> None:
    text = wsdl({"Get": ('<xs:element name="Id" type="xs:int"/>', "")}, soap="1.2")
    operation = load_operation(write_wsdl(tmp_path, "get12.wsdl", text), "Get")
    content, headers = compile_writer(operation).write({"Id": 1})
    expected = build_request(operation, {"Id": 1}, URL)
    assert (content, headers) == (expected.content, dict(expected.headers))
    assert etree.fromstring(content).tag == f"{{{SOAP12_ENV}}}Envelope"


@pytest.mark.parametrize(
    ("request_xml", "types", "reason"),
    [
        ('<xs:choice><xs:element name="A" type="xs:int"/></xs:choice>', "", "Choice"),
        ('<xs:any processContents="lax"/>', "", "Any"),
        ('<xs:element name="A"/>', "", "AnyType"),
    ],
)
def test_refuses_to_compile_what_it_does_not_write(
    tmp_path: Path, request_xml: str, types: str, reason: str
) -> None:
    text = wsdl({"Put": (request_xml, "")}, types=types)
    operation = load_operation(write_wsdl(tmp_path, "refused.wsdl", text), "Put")
    with pytest.raises(Unsupported, match=reason):
        compile_writer(operation)


def test_routes_of_operations_the_writer_refuses_keep_zeep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, get: SoapOperation
) -> None:
    text = wsdl({"Put": ('<xs:choice><xs:element name="A" type="xs:int"/></xs:choice>', "")})
    choice = load_operation(write_wsdl(tmp_path, "choice.wsdl", text), "Put")
    assert routetable._writer(choice) is None
    assert routetable._writer(get) is not None

    def broken(operation: SoapOperation) -> RequestWriter:
        raise AttributeError("a zeep object of an unforeseen shape")

    monkeypatch.setattr(routetable, "compile_writer", broken)
    assert routetable._writer(get) is None


# --- one construct at a time --------------------------------------------------------------

SHAPES_TYPES = """
<xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">
  <xs:attribute name="currency" type="xs:string" use="required"/>
</xs:extension></xs:simpleContent></xs:complexType>
<xs:complexType name="Box"><xs:sequence>
  <xs:element name="Size" type="xs:int"/>
</xs:sequence><xs:attribute name="kind" type="xs:string" default="plain"/></xs:complexType>
"""
SHAPES = (
    '<xs:element name="Id" type="xs:int"/>'
    '<xs:element name="Tags" type="xs:string" minOccurs="1" maxOccurs="2"/>'
    '<xs:element name="Price" type="tns:Money" minOccurs="0"/>'
    '<xs:element name="Box" type="tns:Box" minOccurs="0"/>'
    '<xs:element name="Blob" type="xs:base64Binary" minOccurs="0"/>'
)


@pytest.fixture
def shapes(tmp_path: Path) -> SoapOperation:
    text = wsdl({"Put": (SHAPES, "")}, types=SHAPES_TYPES)
    return load_operation(write_wsdl(tmp_path, "shapes.wsdl", text), "Put")


@pytest.mark.parametrize(
    "arguments",
    [
        {"Tags": ["a"]},  # a required element missing
        {"Id": 1},  # a repeated element below its minOccurs
        {"Id": 1, "Tags": "a"},  # not a list
        {"Id": 1, "Tags": ["a", "b", "c"]},  # above its maxOccurs
        {"Id": 1, "Tags": [None]},  # an item without a value
        {"Id": [1], "Tags": ["a"]},  # a list for a single element
        {"Id": 1, "Tags": ["a"], "Box": "big"},  # not an object
        {"Id": 1, "Tags": ["a"], "Box": {"Size": 1, "Colour": "red"}},  # an unknown member
        {"Id": 1, "Tags": ["a"], "Box": {"Size": 1}},  # an attribute zeep writes its default
        {"Id": 1, "Tags": ["a"], "Price": {"_value_1": Decimal("1")}},  # required attribute
        {"Id": 1, "Tags": ["a"], "Price": {"currency": "EUR"}},  # no simple content
        {"Id": 1, "Tags": ["a"], "Price": {"_value_1": Decimal("1"), "currency": Nil}},
        {"Id": 1, "Tags": [etree.CDATA("a")]},
        {"Id": "seven", "Tags": ["a"]},  # a value its type's xmlvalue does not write
        {"Id": 1, "Tags": ["a\x00"]},  # text XML cannot carry
        {"Id": 1, "Tags": ["a"], "Price": {"_value_1": Decimal("1"), "currency": "\x01"}},
        {"Id": 1, "Tags": ["a"], "Blob": b"\xff"},  # not UTF-8 once encoded? zeep decides
    ],
)
def test_declines_what_it_does_not_write_as_zeep(
    shapes: SoapOperation, arguments: dict[str, Any]
) -> None:
    writer = compile_writer(shapes)
    try:
        content, _ = writer.write(arguments)
    except Declined:
        pass
    else:  # only where the answer is zeep's anyway
        assert content == build_request(shapes, arguments, URL).content
        return
    try:
        expected = build_request(shapes, arguments, URL).content
    except InvalidRequest as exc:
        with pytest.raises(InvalidRequest) as caught:
            build_request(shapes, arguments, URL, writer=writer)
        assert caught.value.errors == exc.errors
    else:
        assert build_request(shapes, arguments, URL, writer=writer).content == expected


def test_writes_simple_content_attributes_and_bytes_as_zeep(shapes: SoapOperation) -> None:
    arguments = {
        "Id": 1,
        "Tags": ['a&b <c> "d"\r'],
        "Price": {"_value_1": Decimal("1.50"), "currency": 'E"U\tR\n&'},
        "Box": {"Size": 2, "kind": "big"},
        "Blob": b"\x00\x01",
    }
    content, _ = compile_writer(shapes).write(arguments)
    assert content == build_request(shapes, arguments, URL).content
    assert b'a&amp;b &lt;c&gt; "d"&#13;' in content


def test_refuses_operations_it_does_not_write(tmp_path: Path) -> None:
    pair = two_part_operation(tmp_path)
    with pytest.raises(Unsupported, match="several parts"):
        compile_writer(pair)
    addressed = wsdl({"Get": ("", "")}).replace(
        '<wsdl:input message="tns:GetIn"/>',
        '<wsdl:input message="tns:GetIn" xmlns:wsam="http://www.w3.org/2007/05/addressing/metadata"'
        ' wsam:Action="urn:get"/>',
    )
    with pytest.raises(Unsupported, match="WS-Addressing"):
        compile_writer(load_operation(write_wsdl(tmp_path, "wsa.wsdl", addressed), "Get"))
    get = load_operation(write_wsdl(tmp_path, "get.wsdl", GET), "Get")
    get.client.set_ns_prefix("t", "http://example.com/test")
    with pytest.raises(Unsupported, match="prefixes"):
        compile_writer(get)
    plugged = load_operation(write_wsdl(tmp_path, "plugged.wsdl", GET), "Get")
    plugged.client.plugins.append(object())  # zeep applies plugins to what it sends
    with pytest.raises(Unsupported, match="plugins"):
        compile_writer(plugged)


@pytest.mark.parametrize(
    ("types", "request_xml", "reason"),
    [
        (
            '<xs:complexType name="Q"><xs:sequence><xs:element name="A" type="xs:int"/>'
            '</xs:sequence><xs:attribute ref="tns:lang"/></xs:complexType>'
            '<xs:attribute name="lang" type="xs:string"/>',
            '<xs:element name="Q" type="tns:Q"/>',
            "qualified attribute",
        ),
        (
            '<xs:complexType name="Q"><xs:sequence><xs:element name="A" type="xs:int"/>'
            "</xs:sequence><xs:anyAttribute/></xs:complexType>",
            '<xs:element name="Q" type="tns:Q"/>',
            "anyAttribute",
        ),
        (
            '<xs:simpleType name="U"><xs:union memberTypes="xs:int xs:date"/></xs:simpleType>',
            '<xs:element name="A" type="tns:U"/>',
            None,
        ),
        (
            '<xs:complexType name="Q"><xs:sequence maxOccurs="2"><xs:element name="A"'
            ' type="xs:int"/></xs:sequence></xs:complexType>',
            '<xs:element name="Q" type="tns:Q"/>',
            "Sequence",
        ),
    ],
)
def test_refuses_types_it_does_not_write(
    tmp_path: Path, types: str, request_xml: str, reason: str | None
) -> None:
    text = wsdl({"Put": (request_xml, "")}, types=types)
    operation = load_operation(write_wsdl(tmp_path, "types.wsdl", text), "Put")
    try:
        writer = compile_writer(operation)
    except Unsupported as exc:
        assert reason is not None and reason in str(exc)
        return
    assert reason is None  # compiled: then it writes zeep's bytes for a value of the type
    content, _ = writer.write({"A": 1})
    assert content == build_request(operation, {"A": 1}, URL).content
