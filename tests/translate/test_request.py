"""JSON request -> SOAP arguments: coerced by XSD type, every problem reported at once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from wsdls import SOAP11_ENV, TNS, load_operation, write_wsdl, wsdl
from zeep.xsd.const import Nil

from facade.errors import FieldProblem, InvalidRequest
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.soap.facets import FacetIndex
from facade.soap.jsonschema import SchemaBuilder
from facade.soap.loader import load_wsdl
from facade.soap.message import build_request
from facade.soap.operations import SoapOperation
from facade.soap.registry import WsdlRegistry
from facade.translate.request import (
    ArgumentSource,
    build_arguments,
    compile_expression,
)
from facade.translate.validate import ArgumentValidator

ROOT = Path(__file__).resolve().parent.parent.parent

TYPES = """
<xs:simpleType name="Color">
  <xs:restriction base="xs:string">
    <xs:enumeration value="red"/><xs:enumeration value="green"/>
  </xs:restriction>
</xs:simpleType>
<xs:simpleType name="IntList"><xs:list itemType="xs:int"/></xs:simpleType>
<xs:simpleType name="IntOrDate"><xs:union memberTypes="xs:int xs:date"/></xs:simpleType>
<xs:complexType name="Address">
  <xs:sequence>
    <xs:element name="Street" type="xs:string"/>
    <xs:element name="Zip" type="xs:int" minOccurs="0"/>
  </xs:sequence>
</xs:complexType>
<xs:complexType name="Money">
  <xs:simpleContent>
    <xs:extension base="xs:decimal"><xs:attribute name="currency" type="xs:string"/></xs:extension>
  </xs:simpleContent>
</xs:complexType>
<xs:complexType name="Person">
  <xs:sequence>
    <xs:element name="Name" type="xs:string"/>
    <xs:element name="Age" type="xs:short" minOccurs="0"/>
    <xs:element name="Email" type="xs:string" nillable="true"/>
    <xs:element name="Address" type="tns:Address" minOccurs="0"/>
    <xs:element name="Tags" type="xs:string" minOccurs="0" maxOccurs="3"/>
    <xs:element name="Scores" type="xs:int" minOccurs="0" maxOccurs="unbounded"/>
    <xs:element name="Salary" type="tns:Money" minOccurs="0"/>
    <xs:element name="Active" type="xs:boolean" minOccurs="0"/>
    <xs:choice minOccurs="0">
      <xs:element name="Phone" type="xs:string"/>
      <xs:element name="Fax" type="xs:string"/>
    </xs:choice>
  </xs:sequence>
  <xs:attribute name="id" type="xs:int"/>
</xs:complexType>
"""

REQUEST = """
<xs:element name="Id" type="xs:int"/>
<xs:element name="Person" type="tns:Person" minOccurs="0"/>
<xs:element name="Color" type="tns:Color" minOccurs="0"/>
<xs:element name="Ids" type="tns:IntList" minOccurs="0"/>
<xs:element name="Key" type="tns:IntOrDate" minOccurs="0"/>
<xs:element name="Codes" type="xs:int" minOccurs="0" maxOccurs="2"/>
<xs:element name="Note" type="xs:string" nillable="true"/>
<xs:element name="Since" type="xs:date" minOccurs="0"/>
"""

EXPRESSIONS = {
    "Id": "path.id",
    "Person": "body",
    "Color": "query.color",
    "Ids": "query.ids",
    "Key": "query.key",
    "Codes": "query.codes",
    "Note": "headers.note",
    "Since": "query.since || body.since",
}


@pytest.fixture(scope="module")
def operation(tmp_path_factory: pytest.TempPathFactory) -> SoapOperation:
    folder = tmp_path_factory.mktemp("wsdl")
    text = wsdl({"Save": (REQUEST, '<xs:element name="Ok" type="xs:boolean"/>')}, types=TYPES)
    return load_operation(write_wsdl(folder, "save.wsdl", text), "Save")


def sources(operation: SoapOperation, **expressions: str) -> tuple[ArgumentSource, ...]:
    chosen = expressions or EXPRESSIONS
    return tuple(
        ArgumentSource(name, compile_expression(text), operation.argument(name).element)
        for name, text in chosen.items()
    )


def arguments(
    operation: SoapOperation,
    body: Any = None,
    *,
    path: Mapping[str, str] | None = None,
    query: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    validator: ArgumentValidator | None = None,
) -> dict[str, Any]:
    context = {
        "path": {"id": "1"} if path is None else dict(path),
        "query": dict(query or {}),
        "headers": dict(headers or {}),
        "body": body,
    }
    return build_arguments(sources(operation), context, validator)


def errors(operation: SoapOperation, body: Any = None, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as caught:
        arguments(operation, body, **kwargs)
    return [(e.field, e.message) for e in caught.value.errors]


@pytest.fixture(scope="module")
def validator(operation: SoapOperation) -> ArgumentValidator:
    """The operation's input schema, derived from the XSD as the app derives it."""
    wsdl_path = operation.client.wsdl.location
    facets = FacetIndex.from_documents(load_wsdl(Path(wsdl_path)).documents)
    builder = SchemaBuilder(facets, ref_prefix="#/components/schemas/")
    schema = builder.message(operation.zeep_operation.input.body)
    return ArgumentValidator(schema, builder.defs)


# Values that fit


def test_path_and_query_strings_become_typed_values(operation: SoapOperation) -> None:
    result = arguments(
        operation,
        path={"id": "42"},
        query={"color": "red", "ids": "1 2 3", "key": "7", "codes": "5", "since": "2024-02-01"},
    )
    assert result == {
        "Id": 42,
        "Color": "red",
        "Ids": [1, 2, 3],
        "Key": 7,
        "Codes": [5],
        "Since": date(2024, 2, 1),
    }


def test_nested_body_values(operation: SoapOperation) -> None:
    body = {
        "Name": "Ada",
        "Age": 36,
        "Email": None,
        "Address": {"Street": "St James's Square", "Zip": "12"},
        "Tags": ["a", "b"],
        "Scores": [1, "2"],
        "Salary": {"_value_1": "1000.50", "currency": "GBP"},
        "Active": "true",
        "id": "9",
        "Phone": "+44",
    }
    assert arguments(operation, body)["Person"] == {
        "Name": "Ada",
        "Age": 36,
        "Email": Nil,
        "Address": {"Street": "St James's Square", "Zip": 12},
        "Tags": ["a", "b"],
        "Scores": [1, 2],
        "Salary": {"_value_1": Decimal("1000.50"), "currency": "GBP"},
        "Active": True,
        "id": 9,
        "Phone": "+44",
    }


def test_simple_content_without_attributes_is_the_value_alone(operation: SoapOperation) -> None:
    person = arguments(operation, {"Name": "n", "Email": "e", "Salary": "2.5"})["Person"]
    assert person["Salary"] == {"_value_1": Decimal("2.5")}


def test_absent_optional_arguments_are_left_out(operation: SoapOperation) -> None:
    assert arguments(operation) == {"Id": 1}


def test_a_scalar_for_a_repeated_element_becomes_a_one_item_list(operation: SoapOperation) -> None:
    person = arguments(operation, {"Name": "n", "Email": None, "Tags": "solo", "Scores": 3})
    assert (person["Person"]["Tags"], person["Person"]["Scores"]) == (["solo"], [3])
    assert arguments(operation, {"Name": "n", "Email": None, "Tags": []})["Person"]["Tags"] == []


def test_query_given_twice_is_a_list(operation: SoapOperation) -> None:
    assert arguments(operation, query={"codes": ["1", "2"]})["Codes"] == [1, 2]


@pytest.mark.parametrize(("ids", "expected"), [("4 5", [4, 5]), (["4", 5], [4, 5]), ("", [])])
def test_xs_list(operation: SoapOperation, ids: Any, expected: list[int]) -> None:
    assert arguments(operation, query={"ids": ids})["Ids"] == expected


@pytest.mark.parametrize(
    ("key", "expected"), [("12", 12), (12, 12), ("2024-01-31", date(2024, 1, 31))]
)
def test_union_takes_the_first_member_that_fits(
    operation: SoapOperation, key: Any, expected: Any
) -> None:
    assert arguments(operation, query={"key": key})["Key"] == expected


def test_schema_accepts_allowed_enumeration_values(
    operation: SoapOperation, validator: ArgumentValidator
) -> None:
    assert arguments(operation, query={"color": "green"}, validator=validator)["Color"] == "green"


def test_nillable_values_may_be_null(operation: SoapOperation) -> None:
    result = arguments(operation, {"Name": "n", "Email": None}, headers={})
    assert result["Person"]["Email"] is Nil  # zeep writes xsi:nil for Nil, even when optional
    assert "Note" not in result  # nillable: absent is allowed, zeep writes xsi:nil


def test_null_for_an_optional_non_nillable_child_means_absent(operation: SoapOperation) -> None:
    person = arguments(operation, {"Name": "n", "Email": "e", "Age": None, "Address": None})
    assert person["Person"] == {"Name": "n", "Email": "e"}


def test_expression_fallback(operation: SoapOperation) -> None:
    source = sources(operation, Since="query.since || body.since")
    context = {"query": {}, "body": {"since": "2024-03-01"}}
    assert build_arguments(source, context) == {"Since": date(2024, 3, 1)}


# Values that do not fit


def test_every_problem_is_reported_at_once(
    operation: SoapOperation, validator: ArgumentValidator
) -> None:
    body = {
        "Age": "old",
        "Email": None,
        "Bogus": 1,
        "Address": {"Zip": "x"},
        "Tags": ["a", None, "c", "d"],
        "Active": "yes",
        "Salary": {"_value_1": "1e3"},
    }
    with pytest.raises(InvalidRequest) as caught:
        arguments(
            operation,
            body,
            path={"id": "abc"},
            query={"color": "blue", "ids": "1 x", "key": "zz", "codes": ["1", "2", "3"]},
            validator=validator,
        )
    error = caught.value
    assert (error.status, error.type) == (422, "urn:facade:problem:invalid-request")
    assert [(e.field, e.message) for e in error.errors] == [
        ("path.id", "expected xsd:int (an integer), got 'abc'"),
        ("body.Age", "expected xsd:short (an integer), got 'old'"),
        (
            "body.Bogus",
            "is not a field of this object (known fields: Name, Age, Email, Address, Tags, "
            "Scores, Salary, Active, Phone, Fax, id)",
        ),
        ("body.Address.Zip", "expected xsd:int (an integer), got 'x'"),
        ("body.Address.Street", "is required"),
        ("body.Tags", "has 4 items; at most 3 are allowed"),
        ("body.Tags[1]", "must not be null"),
        ("body.Active", "expected xsd:boolean (true, false, 1 or 0), got 'yes'"),
        ("body.Salary._value_1", "expected xsd:decimal (digits with an optional '.'), got '1e3'"),
        ("body.Name", "is required"),
        ("query.ids[1]", "expected xsd:int (an integer), got 'x'"),
        ("query.key", "does not fit any member of the union type, got 'zz'"),
        ("query.codes", "has 3 items; at most 2 are allowed"),
        ("query.color", "'blue' is not one of ['red', 'green']"),  # from the XSD's schema
    ]
    first = error.extensions()["errors"][0]
    assert (first["field"], first["message"]) == (
        "path.id",
        "expected xsd:int (an integer), got 'abc'",
    )
    assert error.detail.startswith("path.id: expected xsd:int (an integer), got 'abc'; body.Age:")


def test_required_argument_missing(operation: SoapOperation) -> None:
    assert errors(operation, path={}) == [("path.id", "is required (Id)")]


def test_an_expression_that_fails_on_the_request_is_a_422(operation: SoapOperation) -> None:
    """`length(body.ids)` when the client sent a number: the client's request is wrong."""
    source = sources(operation, Id="length(body.ids)")
    with pytest.raises(InvalidRequest) as caught:
        build_arguments(source, {"body": {"ids": 5}})
    [problem] = caught.value.errors
    assert problem.field == "Id"
    assert problem.message.startswith("does not fit the route's expression")
    assert build_arguments(source, {"body": {"ids": [1, 2]}}) == {"Id": 2}


def test_required_argument_from_a_computed_expression_is_named_by_argument(
    operation: SoapOperation,
) -> None:
    source = sources(operation, Id="to_number(path.id)")
    with pytest.raises(InvalidRequest) as caught:
        build_arguments(source, {"path": {}})
    assert caught.value.errors == [FieldProblem("Id", "is required (Id)")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Email": None}, [("body.Name", "is required")]),
        ({"Name": None, "Email": None}, [("body.Name", "is required")]),
        (
            {"Name": "n", "Email": None, "Address": {}},
            [("body.Address.Street", "is required")],
        ),
        (
            {"Name": "n", "Email": None, "Address": {"Street": None}},
            [("body.Address.Street", "is required")],
        ),
    ],
)
def test_required_child_missing_or_null(
    operation: SoapOperation, body: Any, expected: list[tuple[str, str]]
) -> None:
    assert errors(operation, body) == expected


def test_null_in_a_list_of_non_nillable_items(operation: SoapOperation) -> None:
    assert errors(operation, {"Name": "n", "Email": None, "Scores": [1, None]}) == [
        ("body.Scores[1]", "must not be null")
    ]


@pytest.mark.parametrize(
    ("address", "kind"),
    [("Main St", "a string"), (True, "a boolean"), (5, "a number")],
)
def test_object_expected(operation: SoapOperation, address: Any, kind: str) -> None:
    assert errors(operation, {"Name": "n", "Email": None, "Address": address}) == [
        ("body.Address", f"expected an object, got {kind}")
    ]


def test_the_body_itself_must_be_an_object(operation: SoapOperation) -> None:
    assert errors(operation, "Ada") == [("body", "expected an object, got a string")]
    assert errors(operation, ["Ada"]) == [("body", "expected one value, got a list")]


def test_a_list_for_a_single_element(operation: SoapOperation) -> None:
    assert errors(operation, {"Name": ["a", "b"], "Email": None, "Address": [{}]}) == [
        ("body.Name", "expected one value, got a list"),
        ("body.Address", "expected one value, got a list"),
    ]


def test_xs_list_needs_a_list_or_text(operation: SoapOperation) -> None:
    assert errors(operation, query={"ids": {"a": 1}}) == [
        ("query.ids", "expected a list of values")
    ]


def test_unknown_field_in_a_nested_object_lists_its_known_fields(operation: SoapOperation) -> None:
    body = {"Name": "n", "Email": None, "Address": {"Street": "s", "City": "c"}}
    assert errors(operation, body) == [
        ("body.Address.City", "is not a field of this object (known fields: Street, Zip)")
    ]


def test_demo_create_customer_reports_missing_address(operation: SoapOperation) -> None:
    from facade.soap.loader import load_wsdl
    from facade.soap.operations import resolve_operation

    create = resolve_operation(load_wsdl(ROOT / "wsdl" / "crm.wsdl").client, "CreateCustomer")
    source = (
        ArgumentSource("Customer", compile_expression("body"), create.argument("Customer").element),
    )
    with pytest.raises(InvalidRequest) as caught:
        build_arguments(source, {"body": {"Name": "Alan", "Address": {"City": "Wilmslow"}}})
    assert [(e.field, e.message) for e in caught.value.errors] == [
        ("body.Address.Street", "is required"),
        ("body.Address.PostalCode", "is required"),
        ("body.Address.Country", "is required"),
    ]


# Into the envelope


def body_of(content: bytes) -> etree._Element:
    root = etree.fromstring(content)
    assert root.tag == f"{{{SOAP11_ENV}}}Envelope"
    return root.find(f"{{{SOAP11_ENV}}}Body")[0]


@pytest.mark.parametrize(
    "name",
    [
        "</Name><Admin>true</Admin><Name>",
        "]]><x/>",
        "Tom & Jerry \"quoted\" 'single'",
        "<?xml version='1.0'?>",
        "&amp; &#60; &lt;",
    ],
)
def test_markup_in_json_strings_stays_text_in_the_envelope(
    operation: SoapOperation, name: str
) -> None:
    args = arguments(operation, {"Name": name, "Email": None})
    request = build_request(operation, args, "http://127.0.0.1:9/svc")
    person = body_of(request.content).find(f"{{{TNS}}}Person")
    assert [etree.QName(child).localname for child in person] == ["Name", "Email"]
    assert person.findtext(f"{{{TNS}}}Name") == name
    assert b"<Admin>" not in request.content
    assert b"<x/>" not in request.content


def test_escaped_bytes_of_the_classic_injection(operation: SoapOperation) -> None:
    args = arguments(operation, {"Name": "</Name><Admin>", "Email": None})
    content = build_request(operation, args, "http://127.0.0.1:9/svc").content
    assert b"&lt;/Name&gt;&lt;Admin&gt;" in content
    assert content.count(b"<ns0:Name>") == 1


def test_coerced_values_are_written_in_xsd_form(operation: SoapOperation) -> None:
    args = arguments(
        operation,
        {"Name": "n", "Email": None, "Active": "1", "Salary": "0.0000001", "id": "7"},
        query={"ids": "1 2", "key": "2024-01-31", "since": "2024-02-01"},
    )
    save = body_of(build_request(operation, args, "http://127.0.0.1:9/svc").content)
    text = {etree.QName(e).localname: e.text for e in save.iter() if isinstance(e.tag, str)}
    assert text["Id"] == "1"
    assert text["Active"] == "true"
    assert text["Salary"] == "0.0000001"
    assert text["Ids"] == "1 2"
    assert text["Key"] == "2024-01-31"
    assert text["Since"] == "2024-02-01"
    assert save.find(f"{{{TNS}}}Person").get("id") == "7"
    nil = save.find(f"{{{TNS}}}Person/{{{TNS}}}Email")
    assert nil.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


def test_two_members_of_a_choice_are_refused_by_the_serializer(operation: SoapOperation) -> None:
    args = arguments(operation, {"Name": "n", "Email": None, "Phone": "1", "Fax": "2"})
    with pytest.raises(InvalidRequest) as caught:
        build_request(operation, args, "http://127.0.0.1:9/svc")
    [problem] = caught.value.errors
    assert problem.field == "body"
    assert "unexpected keyword argument 'Fax'" in problem.message
    assert "\n" not in problem.message


def test_argument_source_field_names_the_client_side_place(operation: SoapOperation) -> None:
    by_name = {s.name: s for s in sources(operation)}
    assert by_name["Id"].field == "path.id"
    assert by_name["Person"].field == "body"
    assert by_name["Since"].field == "Since"
    header = sources(operation, Note='headers."x-note"')[0]
    assert header.field == "headers.x-note"


# The demo's contract: body values keep their JSON types, null semantics, one problem per place


@pytest.fixture(scope="module")
def demo() -> dict[str, Any]:
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(ROOT / "mappings"), registry)
    return {"routes": {r.name: r for r in table}, "validators": table.validators}


def demo_call(demo: dict[str, Any], name: str, body: Any, **path: str) -> dict[str, Any]:
    route = demo["routes"][name]
    context = {"path": path, "query": {}, "headers": {}, "body": body}
    return build_arguments(route.arguments, context, demo["validators"][name])


def demo_errors(demo: dict[str, Any], name: str, body: Any, **path: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRequest) as caught:
        demo_call(demo, name, body, **path)
    return [(e.field, e.message) for e in caught.value.errors]


def test_an_empty_body_is_one_problem(demo: dict[str, Any]) -> None:
    assert demo_errors(demo, "create-customer", None) == [("body", "is required (Customer)")]


ADDRESS = {"Street": "s", "City": "c", "PostalCode": "p", "Country": "GB"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Name": 123}, ("body.Name", "123 is not of type 'string'")),
        ({"Name": "n", "Tags": "abc"}, ("body.Tags", "'abc' is not of type 'array'")),
        ({"Name": "n", "Tags": [1]}, ("body.Tags[0]", "1 is not of type 'string'")),
        ({"Name": True}, ("body.Name", "True is not of type 'string'")),
    ],
)
def test_body_values_must_have_their_documented_json_type(
    demo: dict[str, Any], body: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert demo_errors(demo, "create-customer", {**body, "Address": ADDRESS}) == [expected]


def test_path_strings_are_still_coerced(demo: dict[str, Any]) -> None:
    assert demo_call(demo, "get-customer", None, id="42") == {"CustomerId": 42}


def test_an_unknown_body_field_is_one_problem(demo: dict[str, Any]) -> None:
    [(field, message)] = demo_errors(demo, "update-customer", {"Balance": "1"}, id="2")
    assert field == "body.Balance" and message.startswith("is not a field of this object")


def update_envelope(demo: dict[str, Any], body: dict[str, Any]) -> etree._Element:
    route = demo["routes"]["update-customer"]
    args = demo_call(demo, "update-customer", body, id="2")
    content = build_request(route.operation, args, "http://127.0.0.1:9/crm").content
    return body_of(content).find("{http://example.com/crm}Customer")


def test_patch_null_clears_a_nillable_field_with_xsi_nil(demo: dict[str, Any]) -> None:
    customer = update_envelope(demo, {"Email": None})
    [email] = list(customer)
    assert etree.QName(email).localname == "Email"
    assert email.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


def test_patch_absent_or_null_on_a_non_nillable_field_leaves_it_out(demo: dict[str, Any]) -> None:
    assert list(update_envelope(demo, {})) == []
    assert list(update_envelope(demo, {"Phone": None})) == []
