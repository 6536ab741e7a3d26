from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from facade.soap.facets import EMPTY, FacetIndex, Facets, member_key, scope_of
from facade.soap.loader import LoadedWsdl, load_wsdl

TNS = "urn:shop"

WSDL = """<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="urn:shop" targetNamespace="urn:shop">
  <types>
    <xs:schema targetNamespace="urn:shop" elementFormDefault="qualified">{schema}</xs:schema>
  </types>
</definitions>
"""

Load = Callable[[str], tuple[LoadedWsdl, FacetIndex]]


@pytest.fixture
def load(tmp_path: Path) -> Load:
    def load(schema: str) -> tuple[LoadedWsdl, FacetIndex]:
        path = tmp_path / "shop.wsdl"
        path.write_text(WSDL.format(schema=schema))
        loaded = load_wsdl(path)
        return loaded, FacetIndex.from_documents(loaded.documents)

    return load


def members(loaded: LoadedWsdl, element: str) -> dict[str, object]:
    """The children and attributes of a global element's type, by zeep's names."""
    xsd_type = loaded.client.wsdl.types.get_element(f"{{{TNS}}}{element}").type
    return dict(xsd_type.elements) | dict(xsd_type.attributes)


def in_element(loaded: LoadedWsdl, index: FacetIndex, element: str, member: str) -> Facets:
    scope = member_key(loaded.client.wsdl.types.get_element(f"{{{TNS}}}{element}"), None)
    return index.for_element(members(loaded, element)[member], scope)


def test_named_simple_type_is_found_by_qname(load: Load) -> None:
    loaded, index = load("""
      <xs:simpleType name="Color"><xs:restriction base="xs:string">
        <xs:enumeration value="red"/><xs:enumeration value="blue"/>
      </xs:restriction></xs:simpleType>""")
    color = loaded.client.wsdl.types.get_type(f"{{{TNS}}}Color")
    assert index.for_type(color) == Facets(enumeration=("red", "blue"))
    string = loaded.client.wsdl.types.get_type("{http://www.w3.org/2001/XMLSchema}string")
    assert index.for_type(string) is EMPTY


def test_every_facet_is_read(load: Load) -> None:
    loaded, index = load("""
      <xs:simpleType name="Code"><xs:restriction base="xs:string">
        <xs:length value="4"/><xs:minLength value="2"/><xs:maxLength value="8"/>
        <xs:pattern value="[A-Z]+"/><xs:pattern value="[0-9]+"/><xs:whiteSpace value="collapse"/>
      </xs:restriction></xs:simpleType>
      <xs:simpleType name="Amount"><xs:restriction base="xs:decimal">
        <xs:minInclusive value="0"/><xs:maxInclusive value=" 999.99 "/>
        <xs:minExclusive value="-1"/><xs:maxExclusive value="1000"/>
        <xs:totalDigits value="5"/><xs:fractionDigits value="2"/>
      </xs:restriction></xs:simpleType>""")
    types = loaded.client.wsdl.types
    assert index.for_type(types.get_type(f"{{{TNS}}}Code")) == Facets(
        length=4, min_length=2, max_length=8, patterns=("([A-Z]+)|([0-9]+)",)
    )
    assert index.for_type(types.get_type(f"{{{TNS}}}Amount")) == Facets(
        min_inclusive="0",
        max_inclusive="999.99",
        min_exclusive="-1",
        max_exclusive="1000",
        total_digits=5,
        fraction_digits=2,
    )


def test_restriction_chains_merge_with_the_derived_step_winning(load: Load) -> None:
    loaded, index = load("""
      <xs:simpleType name="Sku"><xs:restriction base="xs:string">
        <xs:pattern value="[A-Z0-9-]+"/><xs:maxLength value="20"/><xs:minLength value="3"/>
      </xs:restriction></xs:simpleType>
      <xs:simpleType name="ShortSku"><xs:restriction base="tns:Sku">
        <xs:pattern value="S-.*"/><xs:maxLength value="8"/>
      </xs:restriction></xs:simpleType>
      <xs:simpleType name="Size"><xs:restriction base="xs:string">
        <xs:enumeration value="S"/><xs:enumeration value="M"/><xs:enumeration value="L"/>
      </xs:restriction></xs:simpleType>
      <xs:simpleType name="SmallSize"><xs:restriction base="tns:Size">
        <xs:enumeration value="S"/>
      </xs:restriction></xs:simpleType>
      <xs:simpleType name="AnySize"><xs:restriction base="tns:Size"/></xs:simpleType>""")
    types = loaded.client.wsdl.types
    assert index.for_type(types.get_type(f"{{{TNS}}}ShortSku")) == Facets(
        patterns=("[A-Z0-9-]+", "S-.*"), max_length=8, min_length=3
    )
    assert index.for_type(types.get_type(f"{{{TNS}}}SmallSize")).enumeration == ("S",)
    assert index.for_type(types.get_type(f"{{{TNS}}}AnySize")).enumeration == ("S", "M", "L")


def test_zeep_gives_anonymous_types_the_qname_of_their_element(load: Load) -> None:
    """Why anonymous types need for_element: zeep cannot tell them from named ones."""
    loaded, _ = load("""
      <xs:simpleType name="Status"><xs:restriction base="xs:string">
        <xs:enumeration value="open"/></xs:restriction></xs:simpleType>
      <xs:element name="Order"><xs:complexType><xs:sequence>
        <xs:element name="Status" type="tns:Status"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="Invoice"><xs:complexType><xs:sequence>
        <xs:element name="Status"><xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="paid"/></xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType></xs:element>""")
    named = members(loaded, "Order")["Status"].type
    anonymous = members(loaded, "Invoice")["Status"].type
    assert named.qname == anonymous.qname == etree.QName(TNS, "Status")
    assert named.is_global and anonymous.is_global
    assert type(named).__name__ == type(anonymous).__name__ == "Status"


def test_anonymous_types_are_found_where_they_are_declared(load: Load) -> None:
    loaded, index = load("""
      <xs:simpleType name="Status"><xs:restriction base="xs:string">
        <xs:enumeration value="open"/></xs:restriction></xs:simpleType>
      <xs:element name="Order"><xs:complexType><xs:sequence>
        <xs:element name="Status" type="tns:Status"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="Invoice"><xs:complexType><xs:sequence>
        <xs:element name="Status"><xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="paid"/></xs:restriction></xs:simpleType></xs:element>
      </xs:sequence>
      <xs:attribute name="currency"><xs:simpleType><xs:restriction base="xs:string">
        <xs:length value="3"/></xs:restriction></xs:simpleType></xs:attribute>
      </xs:complexType></xs:element>""")
    assert in_element(loaded, index, "Order", "Status").enumeration == ("open",)
    assert in_element(loaded, index, "Invoice", "Status").enumeration == ("paid",)
    assert in_element(loaded, index, "Invoice", "currency").length == 3
    # By QName alone the two disagree, so no facets rather than wrong ones.
    assert index.for_type(members(loaded, "Invoice")["Status"].type) is EMPTY


def test_anonymous_type_with_a_unique_qname_is_found_by_for_type(load: Load) -> None:
    loaded, index = load("""
      <xs:element name="Invoice"><xs:complexType><xs:sequence>
        <xs:element name="Total"><xs:simpleType><xs:restriction base="xs:int">
          <xs:minInclusive value="0"/></xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType></xs:element>""")
    assert index.for_type(members(loaded, "Invoice")["Total"].type).min_inclusive == "0"
    assert index.for_element(members(loaded, "Invoice")["Total"], None).min_inclusive == "0"


def test_nested_anonymous_types_and_named_scopes(load: Load) -> None:
    loaded, index = load("""
      <xs:complexType name="Address"><xs:sequence>
        <xs:element name="Country"><xs:complexType><xs:sequence>
          <xs:element name="Code"><xs:simpleType><xs:restriction base="xs:string">
            <xs:length value="2"/></xs:restriction></xs:simpleType></xs:element>
        </xs:sequence></xs:complexType></xs:element>
        <xs:element name="Code"><xs:simpleType><xs:restriction base="xs:string">
          <xs:length value="5"/></xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType>""")
    address = loaded.client.wsdl.types.get_type(f"{{{TNS}}}Address")
    scope = scope_of(address)
    assert scope == (f"type:{{{TNS}}}Address",)
    elements = dict(address.elements)
    assert index.for_element(elements["Code"], scope).length == 5
    country = elements["Country"]
    country_scope = member_key(country, scope)
    assert country_scope == (*scope, "Country")
    assert index.for_element(dict(country.type.elements)["Code"], country_scope).length == 2


def test_members_inherited_through_extension_groups_and_attribute_groups(load: Load) -> None:
    loaded, index = load("""
      <xs:complexType name="Base"><xs:sequence>
        <xs:element name="Kind"><xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="a"/></xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:complexType>
      <xs:group name="Extra"><xs:sequence>
        <xs:element name="Level"><xs:simpleType><xs:restriction base="xs:int">
          <xs:maxInclusive value="9"/></xs:restriction></xs:simpleType></xs:element>
      </xs:sequence></xs:group>
      <xs:attributeGroup name="Tagged">
        <xs:attribute name="tag"><xs:simpleType><xs:restriction base="xs:string">
          <xs:maxLength value="4"/></xs:restriction></xs:simpleType></xs:attribute>
      </xs:attributeGroup>
      <xs:complexType name="Derived"><xs:complexContent><xs:extension base="tns:Base">
        <xs:sequence><xs:group ref="tns:Extra"/></xs:sequence>
        <xs:attributeGroup ref="tns:Tagged"/>
      </xs:extension></xs:complexContent></xs:complexType>""")
    derived = loaded.client.wsdl.types.get_type(f"{{{TNS}}}Derived")
    scope = scope_of(derived)
    found = dict(derived.elements) | dict(derived.attributes)
    assert set(found) == {"Kind", "Level", "tag"}
    assert index.for_element(found["Kind"], scope).enumeration == ("a",)
    assert index.for_element(found["Level"], scope).max_inclusive == "9"
    assert index.for_element(found["tag"], scope).max_length == 4


def test_refs_to_global_elements_and_attributes(load: Load) -> None:
    loaded, index = load("""
      <xs:element name="Sku"><xs:simpleType><xs:restriction base="xs:string">
        <xs:pattern value="[0-9]{6}"/></xs:restriction></xs:simpleType></xs:element>
      <xs:attribute name="lang"><xs:simpleType><xs:restriction base="xs:string">
        <xs:enumeration value="en"/></xs:restriction></xs:simpleType></xs:attribute>
      <xs:element name="Line"><xs:complexType><xs:sequence>
        <xs:element ref="tns:Sku" maxOccurs="unbounded"/>
      </xs:sequence><xs:attribute ref="tns:lang"/></xs:complexType></xs:element>""")
    assert in_element(loaded, index, "Line", "Sku").patterns == ("[0-9]{6}",)
    assert in_element(loaded, index, "Line", "lang").enumeration == ("en",)


def test_list_and_union_carry_item_and_member_facets(load: Load) -> None:
    loaded, index = load("""
      <xs:simpleType name="Small"><xs:restriction base="xs:int">
        <xs:maxInclusive value="9"/></xs:restriction></xs:simpleType>
      <xs:simpleType name="Smalls"><xs:list itemType="tns:Small"/></xs:simpleType>
      <xs:simpleType name="Codes"><xs:list><xs:simpleType><xs:restriction base="xs:string">
        <xs:length value="2"/></xs:restriction></xs:simpleType></xs:list></xs:simpleType>
      <xs:simpleType name="SmallOrWord"><xs:union memberTypes="tns:Small xs:string"/>
      </xs:simpleType>
      <xs:element name="Req"><xs:complexType><xs:sequence>
        <xs:element name="Smalls" type="tns:Smalls"/>
        <xs:element name="Codes" type="tns:Codes"/>
        <xs:element name="Either" type="tns:SmallOrWord"/>
      </xs:sequence></xs:complexType></xs:element>""")
    small = Facets(max_inclusive="9")
    assert in_element(loaded, index, "Req", "Smalls") == Facets(item=small)
    assert in_element(loaded, index, "Req", "Codes") == Facets(item=Facets(length=2))
    assert in_element(loaded, index, "Req", "Either").members == (small, EMPTY)


def test_simple_content_facets_belong_to_the_complex_type(load: Load) -> None:
    loaded, index = load("""
      <xs:simpleType name="Iso"><xs:restriction base="xs:string">
        <xs:length value="3"/></xs:restriction></xs:simpleType>
      <xs:complexType name="Money"><xs:simpleContent><xs:extension base="xs:decimal">
        <xs:attribute name="currency" type="tns:Iso"/>
      </xs:extension></xs:simpleContent></xs:complexType>
      <xs:complexType name="Price"><xs:simpleContent><xs:restriction base="tns:Money">
        <xs:minInclusive value="0"/></xs:restriction></xs:simpleContent></xs:complexType>
      <xs:complexType name="Word"><xs:simpleContent><xs:extension base="tns:Iso"/>
      </xs:simpleContent></xs:complexType>""")
    types = loaded.client.wsdl.types
    assert index.for_type(types.get_type(f"{{{TNS}}}Price")).min_inclusive == "0"
    assert index.for_type(types.get_type(f"{{{TNS}}}Word")).length == 3
    money = types.get_type(f"{{{TNS}}}Money")
    currency = dict(money.attributes)["currency"]
    assert index.for_element(currency, scope_of(money)).length == 3


def test_facets_in_imported_and_included_schemas(tmp_path: Path) -> None:
    (tmp_path / "common.xsd").write_text("""<?xml version="1.0"?>
      <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:common"
          xmlns:c="urn:common">
        <xs:include schemaLocation="codes.xsd"/>
        <xs:simpleType name="Iso"><xs:restriction base="xs:string">
          <xs:length value="3"/></xs:restriction></xs:simpleType>
      </xs:schema>""")
    (tmp_path / "codes.xsd").write_text("""<?xml version="1.0"?>
      <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
        <xs:simpleType name="Code"><xs:restriction base="xs:string">
          <xs:maxLength value="6"/></xs:restriction></xs:simpleType>
      </xs:schema>""")
    (tmp_path / "shop.wsdl").write_text(
        WSDL.replace('xmlns:tns="urn:shop"', 'xmlns:tns="urn:shop" xmlns:c="urn:common"').format(
            schema="""<xs:import namespace="urn:common" schemaLocation="common.xsd"/>
              <xs:element name="Req"><xs:complexType><xs:sequence>
                <xs:element name="Currency" type="c:Iso"/><xs:element name="Code" type="c:Code"/>
              </xs:sequence></xs:complexType></xs:element>"""
        )
    )
    loaded = load_wsdl(tmp_path / "shop.wsdl")
    index = FacetIndex.from_documents(loaded.documents)
    assert in_element(loaded, index, "Req", "Currency").length == 3
    assert in_element(loaded, index, "Req", "Code").max_length == 6  # chameleon include


def test_documents_are_read_without_their_dtd(tmp_path: Path) -> None:
    """A DTD could inject attribute defaults (or entities) into what the index reads."""
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ATTLIST xs:enumeration value CDATA "INJECTED">')
    xsd = tmp_path / "evil.xsd"
    xsd.write_text(f"""<?xml version="1.0"?>
      <!DOCTYPE xs:schema SYSTEM "{dtd.as_uri()}">
      <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:evil">
        <xs:simpleType name="Leak"><xs:restriction base="xs:string">
          <xs:enumeration/><xs:enumeration value="x"/>
        </xs:restriction></xs:simpleType>
      </xs:schema>""")

    class Leak:
        qname = etree.QName("urn:evil", "Leak")

    assert FacetIndex.from_documents([xsd]).for_type(Leak()).enumeration == ("x",)


def test_unknown_types_have_no_facets(load: Load) -> None:
    _, index = load("<xs:element name='Req' type='xs:string'/>")

    class Nameless:
        qname = None

    assert index.for_type(Nameless()) is EMPTY
    assert index.for_type(object()) is EMPTY
    assert index.for_element(object(), None) is EMPTY
