"""The compiled reply reader answers exactly as the zeep path, or declines.

Property: for every operation of the demo WSDL and of every corpus WSDL that loads, replies
generated from the output schema (reply_gen.py) are read both ways; the reader's JSON, when
it answers, is byte for byte the zeep path's, and it never answers a reply zeep refuses.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, drawn, wsdl_files, wsdl_label
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree
from reply_gen import reply_body
from wsdls import TNS, load_operation, write_wsdl, wsdl

from facade import routetable
from facade.backends.legacy_reply import read_streaming
from facade.errors import BackendError, ConfigError
from facade.net.seam import Reply
from facade.soap.facets import FacetIndex
from facade.soap.loader import load_wsdl
from facade.soap.message import deserialize_reply_body
from facade.soap.message import reply_body as parsed_reply_body
from facade.soap.operations import SoapOperation, resolve_operation, soap_operations
from facade.translate.reader import Declined, ReplyReader, Unsupported, compile_reader
from facade.translate.response import DecimalStyle, to_json

REFUSED = "refused"


def exact(value: Any) -> str:
    """JSON text that tells 1 from 1.0 and True and keeps key order; unlike the answers'
    encoding it takes integers beyond 64 bits (xs:unsignedLong, xs:integer)."""
    return json.dumps(value, allow_nan=False)


def zeep_answer(operation: SoapOperation, body: etree._Element, decimals: DecimalStyle) -> Any:
    try:
        result = deserialize_reply_body(operation, body, 200)
        return exact(to_json(result, decimals, operation.output_type))
    except BackendError:  # a reply that breaks the WSDL: the zeep path answers a 502
        return REFUSED


def reader_answer(reader: ReplyReader, body: etree._Element) -> Any:
    try:
        return exact(reader.read_body(body))
    except Declined:
        return None


def assert_same(
    operation: SoapOperation, reader: ReplyReader, body: etree._Element, decimals: DecimalStyle
) -> bool:
    """True when the reader answered (as zeep did), False when it declined."""
    answer = reader_answer(reader, body)
    if answer is None:
        return False  # the zeep path answers
    expected = zeep_answer(operation, body, decimals)
    assert answer == expected, etree.tostring(body).decode()
    return True


def assert_streamed_same(
    operation: SoapOperation, reader: ReplyReader, body: etree._Element, indented: bool
) -> bool:
    """The reply read as it is parsed answers as the reader on its whole tree, or leaves
    it to the ordinary path (None); True when it answered."""
    envelope = copy.deepcopy(body.getparent())
    if indented:
        etree.indent(envelope)
    content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    reply = Reply(200, {}, content)
    whole = parsed_reply_body(operation, reply)
    assert whole is not None
    expected = reader_answer(reader, whole)
    streamed = read_streaming(operation, reader, reply)
    if streamed is None:
        return False
    assert expected is not None, content.decode()  # never answers what the reader declines
    assert exact(streamed[0]) == expected, content.decode()
    return True


def operations(path: Path) -> tuple[list[SoapOperation], Any]:
    loaded = load_wsdl(path)
    facets = FacetIndex.from_documents(loaded.documents)
    found = []
    for name, candidates in soap_operations(loaded.client).items():
        first = candidates[0]
        found.append(resolve_operation(loaded.client, name, service=first.service, port=first.port))
    return found, lambda xsd_type: facets.for_type(xsd_type).enumeration


@pytest.mark.parametrize("path", wsdl_files(), ids=wsdl_label)
def test_reader_answers_as_zeep_for_every_operation(path: Path) -> None:
    try:
        found, enumerations = operations(path)
    except ConfigError:
        pytest.skip("zeep does not load this WSDL")
    answered = compiled = 0
    for operation in found:
        for decimals in ("string", "number"):
            try:
                reader = compile_reader(operation, decimals)
            except Unsupported:
                continue  # zeep reads this operation's replies
            compiled += 1
            element = operation.zeep_operation.output.body
            answered += _compare(operation, reader, element, enumerations, decimals)[0]
    assert answered or not compiled, "the reader declined every generated reply"


def _compare(
    operation: SoapOperation,
    reader: ReplyReader,
    element: Any,
    enumerations: Any,
    decimals: DecimalStyle,
    examples: int = 12,
) -> tuple[int, int]:
    """How many generated replies the reader answered (all of them as zeep did), and how
    many it answered as they were parsed (as on their whole tree). A dozen
    replies per operation: the corpus run is for breadth (every operation, both decimal
    styles); depth is the kitchen WSDL's, 200 replies over every construct."""
    answers = []
    streamed = []

    @drawn(examples)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        body = data.draw(reply_body(element, enumerations))
        answers.append(assert_same(operation, reader, body, decimals))
        indented = data.draw(st.booleans())
        streamed.append(assert_streamed_same(operation, reader, body, indented))

    check()
    return sum(answers), sum(streamed)


KITCHEN_TYPES = """
<xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">
  <xs:attribute name="currency" type="xs:string" use="required"/>
  <xs:attribute name="rate" type="xs:double"/>
</xs:extension></xs:simpleContent></xs:complexType>
<xs:complexType name="Node"><xs:sequence>
  <xs:element name="Label" type="xs:string"/>
  <xs:element name="Child" type="tns:Node" minOccurs="0" maxOccurs="2"/>
</xs:sequence><xs:attribute name="depth" type="xs:int" default="0"/></xs:complexType>
<xs:complexType name="Base"><xs:sequence>
  <xs:element name="Id" type="xs:long"/>
</xs:sequence></xs:complexType>
<xs:complexType name="Derived"><xs:complexContent><xs:extension base="tns:Base">
  <xs:sequence><xs:element name="Extra" type="xs:string" minOccurs="0"/></xs:sequence>
</xs:extension></xs:complexContent></xs:complexType>
<xs:complexType name="Unordered"><xs:all>
  <xs:element name="X" type="xs:int" minOccurs="0"/>
  <xs:element name="Y" type="xs:boolean"/>
</xs:all></xs:complexType>
<xs:complexType name="ArrayOfThing"><xs:sequence>
  <xs:element name="Thing" type="tns:Derived" minOccurs="0" maxOccurs="unbounded" nillable="true"/>
</xs:sequence></xs:complexType>
<xs:simpleType name="Color"><xs:restriction base="xs:string">
  <xs:enumeration value="red"/><xs:enumeration value="green"/>
</xs:restriction></xs:simpleType>
<xs:simpleType name="Codes"><xs:list itemType="xs:int"/></xs:simpleType>
<xs:complexType name="Empty"/>
"""
KITCHEN_RESPONSE = (
    '<xs:element name="Price" type="tns:Money" minOccurs="0"/>'
    '<xs:element name="Tree" type="tns:Node" minOccurs="0"/>'
    '<xs:element name="Thing" type="tns:Derived" nillable="true"/>'
    '<xs:element name="Things" type="tns:ArrayOfThing" minOccurs="0"/>'
    '<xs:element name="Pair" type="tns:Unordered" minOccurs="0"/>'
    '<xs:element name="Color" type="tns:Color" minOccurs="0" maxOccurs="3"/>'
    '<xs:element name="Codes" type="tns:Codes" minOccurs="0"/>'
    '<xs:element name="Nothing" type="tns:Empty" minOccurs="0"/>'
    '<xs:element name="Count" type="xs:unsignedShort" default="5"/>'
    '<xs:element name="Ratio" type="xs:float" minOccurs="0"/>'
    '<xs:element name="Blob" type="xs:base64Binary" minOccurs="0"/>'
    '<xs:element name="Hex" type="xs:hexBinary" minOccurs="0"/>'
    '<xs:element name="Year" type="xs:gYear" minOccurs="0"/>'
    '<xs:element name="Wait" type="xs:duration" minOccurs="0"/>'
    '<xs:element name="At" type="xs:time" minOccurs="0"/>'
    '<xs:element name="When" type="xs:dateTime" minOccurs="0" nillable="true"/>'
    '<xs:element name="Day" type="xs:date" minOccurs="0"/>'
)


@pytest.mark.parametrize("form", ["qualified", "unqualified"])
def test_reader_answers_as_zeep_on_every_construct_it_reads(tmp_path: Path, form: str) -> None:
    text = wsdl({"Get": (ID, KITCHEN_RESPONSE)}, types=KITCHEN_TYPES)
    text = text.replace('elementFormDefault="qualified"', f'elementFormDefault="{form}"')
    path = write_wsdl(tmp_path, "kitchen.wsdl", text)
    found, enumerations = operations(path)
    [operation] = found
    element = operation.zeep_operation.output.body
    for decimals in ("string", "number"):
        reader = compile_reader(operation, decimals)
        assert {etree.QName(tag).localname for tag in reader.early_tags} == {"Child", "Thing"}
        answered, streamed = _compare(operation, reader, element, enumerations, decimals, 200)
        assert answered > 0
        assert streamed > 0


def test_the_demo_operations_are_all_read_by_the_reader() -> None:
    found, _ = operations(ROOT / "wsdl" / "crm.wsdl")
    assert found
    for operation in found:
        compile_reader(operation, "string")  # Unsupported would fail here


# --- declining and refusing, one construct at a time ------------------------------------

ID = '<xs:element name="Id" type="xs:int"/>'
A_INT = '<xs:element name="A" type="xs:int"/>'
B_INT = '<xs:element name="B" type="xs:int"/>'
UNION = '<xs:simpleType name="U"><xs:union memberTypes="xs:int xs:date"/></xs:simpleType>'
ITEM = (
    '<xs:complexType name="Item"><xs:sequence>'
    '<xs:element name="Id" type="xs:int"/>'
    '<xs:element name="Price" type="xs:decimal" minOccurs="0"/>'
    '<xs:element name="Tag" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>'
    '</xs:sequence><xs:attribute name="kind" type="xs:string" default="plain"/>'
    "</xs:complexType>"
)


@pytest.fixture
def item_operation(tmp_path: Path) -> SoapOperation:
    text = wsdl(
        {
            "Get": (
                '<xs:element name="Id" type="xs:int"/>',
                '<xs:element name="Item" type="tns:Item"/>',
            )
        },
        types=ITEM,
    )
    return load_operation(write_wsdl(tmp_path, "items.wsdl", text), "Get")


def body_of(inner: str) -> etree._Element:
    envelope = etree.fromstring(
        f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><s:Body>'
        f'<GetResponse xmlns="{TNS}">{inner}</GetResponse></s:Body></s:Envelope>'
    )
    return envelope[0]


def test_reads_a_reply_as_zeep_does(item_operation: SoapOperation) -> None:
    reader = compile_reader(item_operation, "string")
    body = body_of('<Item kind="big"><Id>7</Id><Price>1.50</Price><Tag>a</Tag><Tag>b</Tag></Item>')
    assert reader.read_body(body) == {
        "Item": {"Id": 7, "Price": "1.50", "Tag": ["a", "b"], "kind": "big"}
    }
    assert_same(item_operation, reader, body, "string")


def test_absent_members_read_as_zeep_reads_them(item_operation: SoapOperation) -> None:
    reader = compile_reader(item_operation, "number")
    body = body_of("<Item><Id>7</Id></Item>")
    assert reader.read_body(body) == {"Item": {"Id": 7, "Price": None, "Tag": [], "kind": "plain"}}
    assert_same(item_operation, reader, body, "number")


@pytest.mark.parametrize(
    "inner",
    [
        '<Item xsi:type="xs:string"><Id>7</Id></Item>',  # xsi:type names another type
        '<Item><Id>7</Id><o:Id xmlns:o="urn:other">8</o:Id></Item>',  # zeep reads it by name
        "<Item><Price>1</Price></Item>",  # a required element missing
        "<Item><Price>1</Price><Id>7</Id></Item>",  # out of order
        "<Item><Id>seven</Id></Item>",  # a value zeep refuses
        "<Item><Id>7</Id><Price>lots</Price></Item>",  # a value zeep refuses (ArithmeticError)
        "<Other/>",  # not the declared body element
    ],
)
def test_declines_what_it_does_not_read_as_zeep(item_operation: SoapOperation, inner: str) -> None:
    reader = compile_reader(item_operation, "string")
    with pytest.raises(Declined):
        reader.read_body(body_of(inner))


def test_skips_undeclared_elements_as_zeep_does(item_operation: SoapOperation) -> None:
    reader = compile_reader(item_operation, "string")
    body = body_of("<Item><Id>7</Id><Extra>x</Extra><Tag>lost</Tag></Item>")
    assert reader.read_body(body) == {"Item": {"Id": 7, "Price": None, "Tag": [], "kind": "plain"}}
    assert_same(item_operation, reader, body, "string")


def test_declines_an_empty_body(item_operation: SoapOperation) -> None:
    reader = compile_reader(item_operation, "string")
    with pytest.raises(Declined):
        reader.read_body(etree.Element("{http://schemas.xmlsoap.org/soap/envelope/}Body"))


@pytest.mark.parametrize(
    ("response", "types", "reason"),
    [
        (
            f"<xs:choice>{A_INT}{B_INT}</xs:choice>",
            "",
            "Choice",
        ),
        ('<xs:any processContents="lax"/>', "", "Any"),
        ('<xs:element name="A"/>', "", "AnyType"),
        (
            '<xs:element name="A" type="tns:U"/>',
            '<xs:simpleType name="U"><xs:union memberTypes="xs:int xs:date"/></xs:simpleType>',
            "simple type",
        ),
    ],
)
def test_refuses_to_compile_what_it_does_not_read(
    tmp_path: Path, response: str, types: str, reason: str
) -> None:
    text = wsdl({"Get": (ID, response)}, types=types)
    operation = load_operation(write_wsdl(tmp_path, "refused.wsdl", text), "Get")
    with pytest.raises(Unsupported, match=reason):
        compile_reader(operation, "string")


def test_a_nesting_deeper_than_the_stack_is_declined(tmp_path: Path) -> None:
    node = '<xs:element name="Node" type="tns:Node"/>'
    types = (
        '<xs:complexType name="Node"><xs:sequence>'
        '<xs:element name="Child" type="tns:Node" minOccurs="0"/>'
        "</xs:sequence></xs:complexType>"
    )
    text = wsdl({"Get": (ID, node)}, types=types)
    operation = load_operation(write_wsdl(tmp_path, "deep.wsdl", text), "Get")
    reader = compile_reader(operation, "string")
    body = body_of("<Node/>")
    parent = body[0][0]
    for _ in range(sys.getrecursionlimit()):
        parent = etree.SubElement(parent, f"{{{TNS}}}Child")
    with pytest.raises(Declined) as caught:
        reader.read_body(body)
    assert isinstance(caught.value.__cause__, RecursionError)


def test_routes_of_operations_the_reader_refuses_keep_zeep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, item_operation: SoapOperation
) -> None:
    text = wsdl({"Get": (ID, f"<xs:choice>{A_INT}{B_INT}</xs:choice>")})
    choice = load_operation(write_wsdl(tmp_path, "choice.wsdl", text), "Get")
    assert routetable._reader(choice, "string") is None
    assert routetable._reader(item_operation, "string") is not None

    def broken(operation: SoapOperation, decimals: DecimalStyle) -> ReplyReader:
        raise AttributeError("a zeep object of an unforeseen shape")

    monkeypatch.setattr(routetable, "compile_reader", broken)
    assert routetable._reader(item_operation, "string") is None
