import base64
import datetime
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from lxml import etree
from zeep.helpers import serialize_object
from zeep.wsdl.bindings.soap import SoapBinding

from facade.errors import ConfigError
from facade.soap.facets import FacetIndex
from facade.soap.jsonschema import XML_TEXT_PATTERN, SchemaBuilder, _ecma_pattern
from facade.soap.loader import LoadedWsdl, load_wsdl

TNS = "urn:shop"
TEXT = {"type": "string", "pattern": XML_TEXT_PATTERN}
"""A string as the contracts describe it: text that XML 1.0 can carry."""
CORPUS = Path("/work/shared/wsdl-corpus")

WSDL = """<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="urn:shop"
    xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" targetNamespace="urn:shop">
  <types>
    <xs:schema targetNamespace="urn:shop" elementFormDefault="qualified">{schema}</xs:schema>
  </types>
  {rest}
</definitions>
"""


class Shop:
    """One loaded fixture WSDL with its builder, and helpers to build and check schemas."""

    def __init__(self, loaded: LoadedWsdl, ref_prefix: str = "#/$defs/") -> None:
        self.loaded = loaded
        self.types = loaded.client.wsdl.types
        self.builder = SchemaBuilder(FacetIndex.from_documents(loaded.documents), ref_prefix)

    def element(self, name: str) -> Any:
        return self.types.get_element(f"{{{TNS}}}{name}")

    def message(self, name: str) -> dict[str, Any]:
        return self.builder.message(self.element(name))

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        document = {**schema, "$defs": self.builder.defs}
        Draft202012Validator.check_schema(document)
        return Draft202012Validator(document)

    def from_zeep(self, name: str, xml: str) -> Any:
        """The JSON zeep makes of an element: the shape the schemas must describe."""
        value = self.element(name).parse(etree.fromstring(xml), self.types)
        return to_json(serialize_object(value, dict))


def to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


Load = Callable[..., Shop]


@pytest.fixture
def load(tmp_path: Path) -> Load:
    def load(schema: str, rest: str = "", ref_prefix: str = "#/$defs/") -> Shop:
        path = tmp_path / "shop.wsdl"
        path.write_text(WSDL.format(schema=schema, rest=rest))
        return Shop(load_wsdl(path), ref_prefix)

    return load


def x(body: str, root: str = "Req") -> str:
    return f'<{root} xmlns="{TNS}">{body}</{root}>'


def test_sequence_is_an_object_in_order_with_required_members(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="b" type="xs:string"/><xs:element name="a" type="xs:int"/>
        <xs:element name="c" type="xs:string" minOccurs="0"/>
        <xs:element name="d" type="xs:string" nillable="true"/>
      </xs:sequence></xs:complexType></xs:element>""")
    schema = shop.message("Req")
    assert list(schema["properties"]) == ["b", "a", "c", "d"]
    assert schema["required"] == ["b", "a", "d"]
    assert schema["properties"]["c"] == {"anyOf": [TEXT, {"type": "null"}]}
    valid = shop.validator(schema)
    assert valid.is_valid({"b": "x", "a": 1, "d": None})
    assert valid.is_valid(shop.from_zeep("Req", x("<b>x</b><a>1</a><d/>")))
    assert not valid.is_valid({"b": "x", "a": 1})  # nillable, yet required
    assert not valid.is_valid({"b": "x", "a": "1", "d": "y"})


def test_an_element_that_may_repeat_is_always_an_array(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="tag" type="xs:string" minOccurs="1" maxOccurs="3"/>
        <xs:element name="note" type="xs:string" minOccurs="0" maxOccurs="unbounded"
            nillable="true"/>
      </xs:sequence></xs:complexType></xs:element>""")
    schema = shop.message("Req")
    assert schema["properties"]["tag"] == {
        "type": "array",
        "items": TEXT,
        "minItems": 1,
        "maxItems": 3,
    }
    assert schema["properties"]["note"]["items"] == {"anyOf": [TEXT, {"type": "null"}]}
    assert schema["required"] == ["tag"]
    one = shop.from_zeep("Req", x("<tag>a</tag>"))
    assert one == {"tag": ["a"], "note": []}
    assert shop.validator(schema).is_valid(one)
    assert not shop.validator(schema).is_valid({"tag": "a"})


def test_choice_is_one_of_its_branches(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="id" type="xs:int"/>
        <xs:choice>
          <xs:element name="email" type="xs:string"/>
          <xs:sequence>
            <xs:element name="phone" type="xs:string"/>
            <xs:element name="ext" type="xs:string" minOccurs="0"/>
          </xs:sequence>
        </xs:choice>
      </xs:sequence></xs:complexType></xs:element>""")
    schema = shop.message("Req")
    assert set(schema["properties"]) == {"id", "email", "phone", "ext"}
    assert schema["required"] == ["id"]
    assert len(schema["oneOf"]) == 2
    valid = shop.validator(schema)
    assert valid.is_valid({"id": 1, "email": "a@b"})
    assert valid.is_valid({"id": 1, "phone": "1", "ext": "2"})
    assert not valid.is_valid({"id": 1, "email": "a@b", "phone": "1"})
    assert not valid.is_valid({"id": 1})
    assert not valid.is_valid({"id": 1, "ext": "2"})
    for body in ("<email>a@b</email>", "<phone>1</phone>", "<phone>1</phone><ext>2</ext>"):
        from_zeep = shop.from_zeep("Req", x(f"<id>1</id>{body}"))
        assert valid.is_valid(from_zeep), from_zeep  # members not chosen are None


def test_optional_and_repeating_choices(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:choice minOccurs="0">
          <xs:element name="a" type="xs:string"/><xs:element name="b" type="xs:string"/>
        </xs:choice>
        <xs:choice maxOccurs="unbounded">
          <xs:element name="c" type="xs:string"/><xs:element name="d" type="xs:int"/>
        </xs:choice>
      </xs:sequence></xs:complexType></xs:element>""")
    schema = shop.message("Req")
    repeated = schema["properties"]["_value_1"]
    assert repeated["type"] == "array" and repeated["minItems"] == 1
    assert len(repeated["items"]["oneOf"]) == 2
    valid = shop.validator(schema)
    assert valid.is_valid({"_value_1": [{"c": "x"}, {"d": 2}]})
    assert valid.is_valid({"a": "x", "_value_1": [{"c": "x"}]})
    assert not valid.is_valid({"a": "x", "b": "y", "_value_1": [{"c": "x"}]})
    assert not valid.is_valid({"_value_1": [{"c": "x", "d": 2}]})
    from_zeep = shop.from_zeep("Req", x("<c>x</c><d>2</d><c>y</c>"))
    assert from_zeep["_value_1"] == [{"c": "x"}, {"d": 2}, {"c": "y"}]
    assert valid.is_valid(from_zeep)


def test_all_is_an_object_of_its_members(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:all>
        <xs:element name="a" type="xs:string"/><xs:element name="b" type="xs:string" minOccurs="0"/>
      </xs:all></xs:complexType></xs:element>""")
    schema = shop.message("Req")
    assert schema["required"] == ["a"]
    assert shop.validator(schema).is_valid(shop.from_zeep("Req", x("<b>2</b><a>1</a>")))


def test_attributes_are_properties_named_as_zeep_names_them(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="id" type="xs:string"/>
      </xs:sequence>
      <xs:attribute name="id" type="xs:int"/>
      <xs:attribute name="unit" type="xs:string" use="required"/>
      <xs:anyAttribute processContents="lax"/>
      </xs:complexType></xs:element>""")
    schema = shop.message("Req")
    assert list(schema["properties"]) == ["id", "attr__id", "unit", "_attr_1"]
    assert schema["required"] == ["id", "unit"]
    from_zeep = shop.from_zeep("Req", x("<id>a</id>").replace(">", ' id="7" unit="kg">', 1))
    assert from_zeep["attr__id"] == 7 and from_zeep["unit"] == "kg"
    assert shop.validator(schema).is_valid(from_zeep)


def test_simple_content_value_is_under_value_1(load: Load) -> None:
    shop = load("""
      <xs:simpleType name="Iso"><xs:restriction base="xs:string">
        <xs:length value="3"/></xs:restriction></xs:simpleType>
      <xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">
        <xs:attribute name="currency" type="tns:Iso"/>
      </xs:extension></xs:simpleContent></xs:complexType>
      <xs:complexType name="Price"><xs:simpleContent><xs:restriction base="tns:Money">
        <xs:fractionDigits value="2"/></xs:restriction></xs:simpleContent></xs:complexType>
      <xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="price" type="tns:Price"/>
        <xs:element name="code"><xs:complexType><xs:simpleContent>
          <xs:extension base="tns:Iso"><xs:attribute name="system" type="xs:string"/>
          </xs:extension></xs:simpleContent></xs:complexType></xs:element>
      </xs:sequence></xs:complexType></xs:element>""")
    schema = shop.message("Req")
    price = shop.builder.defs["Price"]
    assert list(price["properties"]) == ["_value_1", "currency"]
    assert price["required"] == ["_value_1"]
    assert price["properties"]["_value_1"]["pattern"] == r"^-?\d+(\.\d{1,2})?$"
    code = schema["properties"]["code"]
    assert code["properties"]["_value_1"] == {**TEXT, "minLength": 3, "maxLength": 3}
    from_zeep = shop.from_zeep(
        "Req",
        x('<price currency="EUR">1.50</price><code system="iso">abc</code>'),
    )
    assert from_zeep == {
        "price": {"_value_1": "1.50", "currency": "EUR"},
        "code": {"_value_1": "abc", "system": "iso"},
    }
    valid = shop.validator(schema)
    assert valid.is_valid(from_zeep)
    assert not valid.is_valid({**from_zeep, "code": {"_value_1": "abcd"}})


def test_restriction_facets_become_keywords(load: Load) -> None:
    shop = load("""
      <xs:simpleType name="Color"><xs:restriction base="xs:string">
        <xs:enumeration value="red"/><xs:enumeration value="blue"/></xs:restriction></xs:simpleType>
      <xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="color" type="tns:Color"/>
        <xs:element name="sku"><xs:simpleType><xs:restriction base="xs:string">
          <xs:pattern value="[A-Z]{2}-\\d+"/><xs:minLength value="4"/><xs:maxLength value="9"/>
        </xs:restriction></xs:simpleType></xs:element>
        <xs:element name="qty"><xs:simpleType><xs:restriction base="xs:short">
          <xs:minInclusive value="1"/><xs:maxExclusive value="100"/>
        </xs:restriction></xs:simpleType></xs:element>
        <xs:element name="ratio"><xs:simpleType><xs:restriction base="xs:double">
          <xs:minExclusive value="0"/><xs:maxInclusive value="1.5"/>
        </xs:restriction></xs:simpleType></xs:element>
        <xs:element name="level"><xs:simpleType><xs:restriction base="xs:int">
          <xs:enumeration value="1"/><xs:enumeration value="2"/>
        </xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType></xs:element>""")
    props = shop.message("Req")["properties"]
    assert props["color"] == {"type": "string", "enum": ["red", "blue"]}
    assert props["sku"] == {
        "type": "string",
        "pattern": r"^(?:[A-Z]{2}-\d+)$",
        "minLength": 4,
        "maxLength": 9,
    }
    assert props["qty"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 32767,
        "exclusiveMaximum": 100,
    }
    assert props["ratio"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 1.5}
    assert props["level"]["enum"] == [1, 2]
    valid = shop.validator(shop.message("Req"))
    good = {"color": "red", "sku": "AB-12", "qty": 99, "ratio": 1.5, "level": 2}
    assert valid.is_valid(good)
    for bad in ({"color": "green"}, {"sku": "ab-12"}, {"qty": 100}, {"ratio": 0}, {"level": 3}):
        assert not valid.is_valid({**good, **bad}), bad


def test_decimals_are_strings_with_digit_limits(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="any" type="xs:decimal"/>
        <xs:element name="money"><xs:simpleType><xs:restriction base="xs:decimal">
          <xs:totalDigits value="7"/><xs:fractionDigits value="2"/>
        </xs:restriction></xs:simpleType></xs:element>
        <xs:element name="whole"><xs:simpleType><xs:restriction base="xs:decimal">
          <xs:totalDigits value="3"/><xs:fractionDigits value="0"/>
        </xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType></xs:element>""")
    props = shop.message("Req")["properties"]
    assert props["any"] == {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
    assert props["money"] == {
        "type": "string",
        "pattern": r"^-?\d+(\.\d{1,2})?$",
        "maxLength": 9,
    }
    assert props["whole"] == {"type": "string", "pattern": r"^-?\d+$", "maxLength": 4}
    valid = shop.validator(shop.message("Req"))
    assert valid.is_valid({"any": "-0.125", "money": "12345.67", "whole": "-999"})
    assert not valid.is_valid({"any": 1.5, "money": "1.234", "whole": "1.0"})


WIDE = {"type": ["integer", "string"], "pattern": "^[+-]?[0-9]+$"}  # may pass 2^53

BUILTINS = [
    ("string", TEXT),
    ("normalizedString", TEXT),
    ("token", TEXT),
    ("boolean", {"type": "boolean"}),
    ("float", {"type": "number"}),
    ("double", {"type": "number"}),
    ("decimal", {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}),
    ("integer", WIDE),
    ("positiveInteger", WIDE | {"minimum": 1}),
    ("nonNegativeInteger", WIDE | {"minimum": 0}),
    ("negativeInteger", WIDE | {"maximum": -1}),
    ("nonPositiveInteger", WIDE | {"maximum": 0}),
    ("long", WIDE | {"minimum": -(2**63), "maximum": 2**63 - 1}),
    ("int", {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}),
    ("short", {"type": "integer", "minimum": -32768, "maximum": 32767}),
    ("byte", {"type": "integer", "minimum": -128, "maximum": 127}),
    ("unsignedLong", WIDE | {"minimum": 0, "maximum": 2**64 - 1}),
    ("unsignedInt", {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}),
    ("unsignedShort", {"type": "integer", "minimum": 0, "maximum": 65535}),
    ("unsignedByte", {"type": "integer", "minimum": 0, "maximum": 255}),
    ("date", {"type": "string", "format": "date"}),
    ("dateTime", {"type": "string", "format": "date-time"}),
    ("time", {"type": "string", "format": "time"}),
    ("duration", {"type": "string", "format": "duration"}),
    ("base64Binary", {"type": "string", "contentEncoding": "base64"}),
    (
        "hexBinary",
        {"type": "string", "contentEncoding": "base16", "pattern": "^([0-9a-fA-F]{2})*$"},
    ),
    ("anyURI", {**TEXT, "format": "uri"}),
    ("QName", TEXT),
    ("anySimpleType", {}),
    ("anyType", {}),
]


@pytest.mark.parametrize(("xsd", "expected"), BUILTINS)
def test_builtin_types(load: Load, xsd: str, expected: dict[str, Any]) -> None:
    shop = load(f'<xs:element name="Req" type="xs:{xsd}"/>')
    assert shop.builder.element(shop.element("Req")) == expected
    Draft202012Validator.check_schema(expected)


def test_lists_are_arrays_and_unions_any_of(load: Load) -> None:
    shop = load("""
      <xs:simpleType name="Small"><xs:restriction base="xs:int">
        <xs:maxInclusive value="9"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Smalls"><xs:list itemType="tns:Small"/></xs:simpleType>
      <xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="smalls" type="tns:Smalls"/>
        <xs:element name="codes"><xs:simpleType><xs:list><xs:simpleType>
          <xs:restriction base="xs:string"><xs:length value="2"/></xs:restriction>
        </xs:simpleType></xs:list></xs:simpleType></xs:element>
        <xs:element name="either"><xs:simpleType>
          <xs:union memberTypes="tns:Small xs:date"/></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType></xs:element>""")
    props = shop.message("Req")["properties"]
    assert props["smalls"] == {
        "type": "array",
        "items": {"type": "integer", "minimum": -(2**31), "maximum": 9},
    }
    assert props["codes"]["items"] == {**TEXT, "minLength": 2, "maxLength": 2}
    assert props["either"]["anyOf"][:2] == [
        {"type": "integer", "minimum": -(2**31), "maximum": 9},
        {"type": "string", "format": "date"},
    ]
    valid = shop.validator(shop.message("Req"))
    from_zeep = shop.from_zeep(
        "Req", x("<smalls>1 2</smalls><codes>ab cd</codes><either>3</either>")
    )
    assert from_zeep["smalls"] == [1, 2] and from_zeep["codes"] == ["ab", "cd"]
    assert valid.is_valid(from_zeep)
    assert not valid.is_valid({**from_zeep, "smalls": [10]})


def test_any_and_any_type_are_free(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="blob" type="xs:anyType"/>
        <xs:any minOccurs="0" maxOccurs="unbounded" processContents="lax"/>
      </xs:sequence></xs:complexType></xs:element>""")
    props = shop.message("Req")["properties"]
    assert props["blob"] == {}
    assert props["_value_1"] == {"type": "array", "items": {}}


def test_named_types_are_defs_once_and_recursion_terminates(load: Load) -> None:
    shop = load(
        """<xs:complexType name="Node"><xs:sequence>
          <xs:element name="name" type="xs:string"/>
          <xs:element name="child" type="tns:Node" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
        <xs:element name="Req"><xs:complexType><xs:sequence>
          <xs:element name="left" type="tns:Node"/><xs:element name="right" type="tns:Node"/>
        </xs:sequence></xs:complexType></xs:element>""",
        ref_prefix="#/components/schemas/",
    )
    schema = shop.message("Req")
    assert schema["properties"]["left"] == {"$ref": "#/components/schemas/Node"}
    assert list(shop.builder.defs) == ["Node"]
    node = shop.builder.defs["Node"]
    assert node["properties"]["child"]["items"] == {"$ref": "#/components/schemas/Node"}
    document = {"components": {"schemas": shop.builder.defs}, **schema}
    Draft202012Validator.check_schema(document)
    tree = {"name": "a", "child": [{"name": "b", "child": []}]}
    assert Draft202012Validator(document).is_valid({"left": tree, "right": tree})
    assert not Draft202012Validator(document).is_valid({"left": {"child": []}, "right": tree})


def test_anonymous_recursion_terminates(load: Load) -> None:
    shop = load("""<xs:element name="Folder"><xs:complexType><xs:sequence>
        <xs:element name="name" type="xs:string"/>
        <xs:element ref="tns:Folder" minOccurs="0" maxOccurs="unbounded"/>
      </xs:sequence></xs:complexType></xs:element>""")
    schema = shop.message("Folder")
    assert schema["properties"]["Folder"]["items"] == {"$ref": "#/$defs/Folder"}
    assert shop.builder.defs["Folder"]["properties"]["name"] == TEXT
    xml = x("<name>a</name><Folder><name>b</name></Folder>", root="Folder")
    assert shop.validator(schema).is_valid(shop.from_zeep("Folder", xml))


def test_extension_carries_base_members(load: Load) -> None:
    shop = load("""
      <xs:complexType name="Party" abstract="true"><xs:sequence>
        <xs:element name="name" type="xs:string"/></xs:sequence></xs:complexType>
      <xs:complexType name="Person"><xs:complexContent><xs:extension base="tns:Party">
        <xs:sequence><xs:element name="born" type="xs:date"/></xs:sequence>
      </xs:extension></xs:complexContent></xs:complexType>
      <xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="party" type="tns:Party"/><xs:element name="person" type="tns:Person"/>
      </xs:sequence></xs:complexType></xs:element>""")
    shop.message("Req")
    person = shop.builder.defs["Person"]
    assert list(person["properties"]) == ["name", "born"]
    # Abstract base, best effort: the base's object stays open for its subtypes' members.
    valid = shop.validator({"$ref": "#/$defs/Party"})
    assert valid.is_valid({"name": "Ann", "born": "1990-01-02"})


SOAPENC_RPC = """
  <message name="In">
    <part name="ids" type="tns:IdList"/><part name="note" type="xs:string"/>
  </message>
  <message name="Out"><part name="result" type="tns:Names"/></message>
  <portType name="P"><operation name="Find"><input message="tns:In"/><output message="tns:Out"/>
  </operation></portType>
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
"""


def test_rpc_encoded_soapenc_arrays_are_arrays_of_their_item_type(load: Load) -> None:
    shop = load(
        """<xs:import namespace="http://schemas.xmlsoap.org/soap/encoding/"/>
        <xs:complexType name="IdList"><xs:complexContent>
          <xs:restriction base="soapenc:Array">
            <xs:attribute ref="soapenc:arrayType" wsdl:arrayType="xs:int[]"/>
          </xs:restriction></xs:complexContent></xs:complexType>
        <xs:complexType name="Names"><xs:complexContent>
          <xs:restriction base="soapenc:Array"><xs:sequence>
            <xs:element name="name" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence></xs:restriction></xs:complexContent></xs:complexType>""",
        rest=SOAPENC_RPC,
    )
    operation = shop.loaded.client.wsdl.services["S"].ports["Port"].binding.get("Find")
    request = shop.builder.message(operation.input.body)
    assert list(request["properties"]) == ["ids", "note"]
    assert shop.builder.defs["IdList"] == {
        "type": "array",
        "items": shop.builder.type(shop.types.get_type("{http://www.w3.org/2001/XMLSchema}int")),
    }
    assert shop.builder.message(operation.output.body)["properties"]["result"] == {
        "$ref": "#/$defs/Names"
    }
    assert shop.builder.defs["Names"] == {"type": "array", "items": TEXT}
    ids = shop.types.get_type(f"{{{TNS}}}IdList")
    xml = etree.fromstring(f'<ids xmlns:t="{TNS}"><item>1</item><item>2</item></ids>')
    from_zeep = to_json(serialize_object(ids.parse_xmlelement(xml, shop.types), dict))
    assert from_zeep == [1, 2]
    assert shop.validator(request).is_valid({"ids": from_zeep, "note": "n"})


def test_message_of_simple_and_missing_bodies(load: Load) -> None:
    shop = load('<xs:element name="Ping" type="xs:string"/>')
    assert shop.message("Ping") == {
        "type": "object",
        "properties": {"value": TEXT},
        "required": ["value"],
    }
    assert shop.builder.message(None) == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }


def test_message_of_a_named_wrapper_type_is_inline(load: Load) -> None:
    shop = load("""<xs:complexType name="Query"><xs:sequence>
        <xs:element name="q" type="xs:string" minOccurs="0"/></xs:sequence></xs:complexType>
      <xs:element name="Search" type="tns:Query"/>""")
    schema = shop.message("Search")
    assert schema == {
        "type": "object",
        "properties": {"q": shop.builder.defs["Query"]["properties"]["q"]},
        "additionalProperties": False,
    }
    # An empty <Query/> is None in zeep: where it is a member, null is accepted.
    assert shop.builder.element(shop.element("Search"))["anyOf"][1] == {"type": "null"}


@pytest.mark.parametrize(
    ("xsd", "ecma"),
    [
        (r"\d{3}", r"^(?:\d{3})$"),
        ("a|b", "^(?:a|b)$"),
        ("$^", r"^(?:\$\^)$"),
        (r"\i\c*", r"^(?:[_:A-Za-z][-._:A-Za-z0-9]*)$"),
        (r"[\i-]+", r"^(?:[_:A-Za-z-]+)$"),
        ("[^a]", "^(?:[^a])$"),
        (r"\p{IsBasicLatin}+", None),
        ("[a-z-[aeiou]]", None),
        ("(", None),
    ],
)
def test_xsd_patterns_become_anchored_ecma_patterns(xsd: str, ecma: str | None) -> None:
    assert _ecma_pattern(xsd) == ecma


def corpus_wsdls() -> list[Path]:
    return sorted(CORPUS.rglob("*.wsdl"))


@pytest.mark.parametrize("path", corpus_wsdls(), ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_operations_have_valid_schemas(path: Path) -> None:
    try:
        loaded = load_wsdl(path)
    except ConfigError:
        pytest.skip("refused on purpose by the loader")
    builder = SchemaBuilder(FacetIndex.from_documents(loaded.documents))
    for service in loaded.client.wsdl.services.values():
        for port in service.ports.values():
            if not isinstance(port.binding, SoapBinding):
                continue
            for name, operation in port.binding.all().items():
                for message in (operation.input, operation.output):
                    schema = builder.message(message.body if message else None)
                    assert schema and schema["type"] == "object", name
                    Draft202012Validator.check_schema({**schema, "$defs": builder.defs})
                    assert_refs_resolve(schema, builder.defs)


def assert_refs_resolve(schema: Any, defs: dict[str, Any]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        assert ref is None or ref.removeprefix("#/$defs/") in defs, ref
        for value in schema.values():
            assert_refs_resolve(value, defs)
    elif isinstance(schema, list):
        for value in schema:
            assert_refs_resolve(value, defs)


def test_objects_are_closed(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="name" type="xs:string"/></xs:sequence></xs:complexType></xs:element>""")
    schema = shop.message("Req")
    assert schema["additionalProperties"] is False
    valid = shop.validator(schema)
    assert valid.is_valid({"name": "Ann"})
    assert not valid.is_valid({"name": "Ann", "nickname": "A"})


def test_a_choice_in_a_closed_object_accepts_each_branch(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:choice>
        <xs:element name="id" type="xs:int"/><xs:element name="email" type="xs:string"/>
        </xs:choice></xs:complexType></xs:element>""")
    valid = shop.validator(shop.message("Req"))
    assert valid.is_valid({"id": 1}) and valid.is_valid({"email": "a@b"})
    assert not valid.is_valid({"id": 1, "other": 2})


def test_a_type_that_is_extended_stays_open(load: Load) -> None:
    shop = load("""<xs:complexType name="Base"><xs:sequence>
        <xs:element name="a" type="xs:string"/></xs:sequence></xs:complexType>
      <xs:complexType name="Derived"><xs:complexContent><xs:extension base="tns:Base">
        <xs:sequence><xs:element name="b" type="xs:string"/></xs:sequence>
      </xs:extension></xs:complexContent></xs:complexType>
      <xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="x" type="tns:Base"/><xs:element name="y" type="tns:Derived"/>
      </xs:sequence></xs:complexType></xs:element>""")
    shop.message("Req")
    assert "additionalProperties" not in shop.builder.defs["Base"]
    assert shop.builder.defs["Derived"]["additionalProperties"] is False


def test_a_wide_integer_is_a_number_or_its_digits(load: Load) -> None:
    shop = load("""<xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="big" type="xs:long"/><xs:element name="small" type="xs:int"/>
        </xs:sequence></xs:complexType></xs:element>""")
    valid = shop.validator(shop.message("Req"))
    assert valid.is_valid({"big": "9223372036854775807", "small": 1})
    assert valid.is_valid({"big": 9007199254740993, "small": 1})
    assert not valid.is_valid({"big": "12a", "small": 1})
    assert not valid.is_valid({"big": 1, "small": "1"})
