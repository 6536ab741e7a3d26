"""SOAP results (zeep values) -> JSON with the XSD's types kept, then JMESPath shaping."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import isodate
import orjson
import pytest
from lxml import etree
from wsdls import TNS, envelope, load_operation, write_wsdl, wsdl

from facade.errors import ResponseExpressionFailed
from facade.net import Reply
from facade.soap.loader import load_wsdl
from facade.soap.message import read_reply
from facade.soap.operations import SoapOperation, resolve_operation
from facade.translate.request import compile_expression
from facade.translate.response import DecimalStyle, shape, to_json

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"

TYPES = """
<xs:complexType name="Thing">
  <xs:sequence><xs:element name="Name" type="xs:string"/></xs:sequence>
  <xs:attribute name="code" type="xs:string"/>
</xs:complexType>
<xs:complexType name="ArrayOfThing">
  <xs:sequence>
    <xs:element name="Thing" type="tns:Thing" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence>
</xs:complexType>
"""

OUTPUT = """
<xs:element name="Amount" type="xs:decimal" minOccurs="0"/>
<xs:element name="Day" type="xs:date" minOccurs="0"/>
<xs:element name="At" type="xs:dateTime" minOccurs="0"/>
<xs:element name="Clock" type="xs:time" minOccurs="0"/>
<xs:element name="Span" type="xs:duration" minOccurs="0"/>
<xs:element name="Blob" type="xs:base64Binary" minOccurs="0"/>
<xs:element name="Hex" type="xs:hexBinary" minOccurs="0"/>
<xs:element name="Ratio" type="xs:double" minOccurs="0"/>
<xs:element name="Small" type="xs:float" minOccurs="0"/>
<xs:element name="Flag" type="xs:boolean" minOccurs="0"/>
<xs:element name="Count" type="xs:long" minOccurs="0"/>
<xs:element name="Nothing" type="xs:string" nillable="true" minOccurs="0"/>
<xs:element name="Items" type="xs:int" minOccurs="0" maxOccurs="unbounded"/>
<xs:element name="Wrapper" type="tns:ArrayOfThing" minOccurs="0"/>
<xs:element name="One" type="tns:Thing" minOccurs="0"/>
<xs:element name="Extra" minOccurs="0">
  <xs:complexType>
    <xs:sequence><xs:any processContents="lax" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
  </xs:complexType>
</xs:element>
<xs:element name="Year" type="xs:gYear" minOccurs="0"/>
"""

EMPTY = {
    "Amount": None,
    "Day": None,
    "At": None,
    "Clock": None,
    "Span": None,
    "Blob": None,
    "Hex": None,
    "Ratio": None,
    "Small": None,
    "Flag": None,
    "Count": None,
    "Nothing": None,
    "Items": [],
    "Wrapper": {"Thing": []},
    "One": None,
    "Extra": {"_value_1": []},
    "Year": None,
}


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory) -> SoapOperation:
    folder = tmp_path_factory.mktemp("wsdl")
    text = wsdl({"Read": ("", OUTPUT)}, types=TYPES)
    return load_operation(write_wsdl(folder, "read.wsdl", text), "Read")


@pytest.fixture(scope="module")
def crm() -> Any:
    return load_wsdl(ROOT / "wsdl" / "crm.wsdl").client


def reply(operation: SoapOperation, body: str, decimals: DecimalStyle = "string") -> Any:
    raw = Reply(200, {"content-type": "text/xml; charset=utf-8"}, envelope(body).encode())
    return to_json(read_reply(operation, raw), decimals, operation.output_type)


def read_json(operation: SoapOperation, inner: str, decimals: DecimalStyle = "string") -> Any:
    return reply(operation, f'<t:ReadResponse xmlns:t="{TNS}">{inner}</t:ReadResponse>', decimals)


# Plain values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.50"), "1234.50"),
        (Decimal("-0.01"), "-0.01"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("1E+3"), "1000"),
        (Decimal("12345678901234567890.123456789"), "12345678901234567890.123456789"),
        (Decimal("0"), "0"),
        (Decimal("Infinity"), "INF"),
        (Decimal("-Infinity"), "-INF"),
        (Decimal("NaN"), "NaN"),
    ],
)
def test_decimals_are_exact_strings_never_exponents(value: Decimal, expected: str) -> None:
    assert to_json(value) == expected
    assert orjson.dumps(to_json({"v": value})) == b'{"v":"%s"}' % expected.encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("100"), 100),
        (Decimal("1E+2"), 100),
        (Decimal("1234.50"), 1234.5),
        (Decimal("100.00"), 100.0),
        (Decimal("-0.5"), -0.5),
    ],
)
def test_decimals_as_numbers(value: Decimal, expected: float) -> None:
    converted = to_json(value, "number")
    assert converted == expected
    assert type(converted) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2024, 1, 15), "2024-01-15"),
        (datetime(2024, 1, 15, 10, 30, tzinfo=UTC), "2024-01-15T10:30:00+00:00"),
        (
            datetime(2024, 1, 15, 10, 30, 0, 250000, tzinfo=timezone(timedelta(hours=-5))),
            "2024-01-15T10:30:00.250000-05:00",
        ),
        (datetime(2024, 1, 15, 10, 30), "2024-01-15T10:30:00"),
        (time(8, 0, 1), "08:00:01"),
        (timedelta(days=1, hours=2), "P1DT2H"),
        (isodate.Duration(years=1, months=2), "P1Y2M"),
        (b"\x00\x01\x02\xff", "AAEC/w=="),
        (b"", ""),
        (None, None),
        (True, True),
        (False, False),
        (7, 7),
        ("text", "text"),
        (1.5, 1.5),
        (math.inf, "INF"),
        (-math.inf, "-INF"),
        (math.nan, "NaN"),
        (etree.QName(TNS, "Thing"), f"{{{TNS}}}Thing"),
        ((1, Decimal("2.50")), [1, "2.50"]),
        ({"a": [Decimal("1.0"), None]}, {"a": ["1.0", None]}),
    ],
)
def test_plain_values(value: Any, expected: Any) -> None:
    assert to_json(value) == expected


def test_json_output_is_encodable() -> None:
    value = {"when": datetime(2024, 1, 1, tzinfo=UTC), "nan": math.nan, "raw": b"hi"}
    assert orjson.loads(orjson.dumps(to_json(value))) == {
        "when": "2024-01-01T00:00:00+00:00",
        "nan": "NaN",
        "raw": "aGk=",
    }


def test_schemaless_element_becomes_objects_with_local_names() -> None:
    element = etree.fromstring(
        '<x:Foo xmlns:x="urn:x" xmlns:y="urn:y" y:lang="en" a="1">'
        "<x:Bar>b</x:Bar><x:Bar>c</x:Bar><Mixed k='v'>text</Mixed><Empty/></x:Foo>"
    )
    assert to_json(element) == {
        "Foo": {
            "@lang": "en",
            "@a": "1",
            "Bar": ["b", "c"],
            "Mixed": {"@k": "v", "#text": "text"},
            "Empty": None,
        }
    }


# Typed replies read by read_reply


def test_every_type_of_a_reply(read: SoapOperation) -> None:
    inner = (
        "<t:Amount>0.0000001</t:Amount><t:Day>2024-01-15</t:Day>"
        "<t:At>2024-01-15T10:00:00Z</t:At><t:Clock>10:30:00</t:Clock><t:Span>P1DT2H</t:Span>"
        "<t:Blob>AAEC</t:Blob><t:Hex>0aff</t:Hex><t:Ratio>INF</t:Ratio><t:Small>NaN</t:Small>"
        "<t:Flag>1</t:Flag><t:Count>9007199254740993</t:Count>"
        '<t:Nothing xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
        '<t:Items>1</t:Items><t:Wrapper/><t:One code="c"><t:Name>n</t:Name></t:One>'
        '<t:Extra><x:Foo xmlns:x="urn:x" a="1"><x:Bar>b</x:Bar><x:Bar>c</x:Bar></x:Foo>'
        "<Plain>p</Plain></t:Extra><t:Year>2024</t:Year>"
    )
    assert read_json(read, inner) == {
        "Amount": "0.0000001",
        "Day": "2024-01-15",
        "At": "2024-01-15T10:00:00+00:00",
        "Clock": "10:30:00",
        "Span": "P1DT2H",
        "Blob": "AAEC",
        "Hex": "0aff",
        "Ratio": "INF",
        "Small": "NaN",
        "Flag": True,
        "Count": 9007199254740993,
        "Nothing": None,
        "Items": [1],
        "Wrapper": {"Thing": []},
        "One": {"Name": "n", "code": "c"},
        "Extra": {"_value_1": [{"Foo": {"@a": "1", "Bar": ["b", "c"]}}, {"Plain": "p"}]},
        "Year": "2024",
    }


def test_absent_elements_are_null_and_repeated_ones_empty_arrays(read: SoapOperation) -> None:
    assert read_json(read, "") == EMPTY


@pytest.mark.parametrize("count", [0, 1, 3])
def test_repeated_elements_are_always_arrays(read: SoapOperation, count: int) -> None:
    items = "".join(f"<t:Items>{i}</t:Items>" for i in range(count))
    things = "".join(f"<t:Thing><t:Name>{i}</t:Name></t:Thing>" for i in range(count))
    result = read_json(read, f"{items}<t:Wrapper>{things}</t:Wrapper>")
    assert result["Items"] == list(range(count))
    assert result["Wrapper"] == {"Thing": [{"Name": str(i), "code": None} for i in range(count)]}


def test_decimals_as_numbers_through_a_reply(read: SoapOperation) -> None:
    assert read_json(read, "<t:Amount>1234.50</t:Amount>", "number")["Amount"] == 1234.5
    assert read_json(read, "<t:Amount>42</t:Amount>", "number")["Amount"] == 42


def test_elements_the_wsdl_does_not_declare_are_skipped(read: SoapOperation) -> None:
    result = read_json(read, "<t:Amount>1.0</t:Amount><t:Surprise>secret</t:Surprise>")
    assert result == EMPTY | {"Amount": "1.0"}
    assert "secret" not in orjson.dumps(result).decode()


def test_empty_reply_wrapper_of_a_list_wrapper_type(read: SoapOperation) -> None:
    wrapper_type = dict(read.output_type.elements)["Wrapper"].type
    thing_type = dict(read.output_type.elements)["One"].type
    assert to_json(None, xsd_type=wrapper_type) == {"Thing": []}
    assert to_json(None, xsd_type=thing_type) is None  # one child, but not repeated


# The demo CRM


def crm_reply(crm: Any, operation: str, inner: str) -> Any:
    op = resolve_operation(crm, operation)
    return reply(op, f'<c:{operation}Response xmlns:c="{CRM}">{inner}</c:{operation}Response>')


ADA = """
<c:Customer>
  <c:Id>1</c:Id><c:Name>Ada Lovelace</c:Name>
  <c:Email xsi:nil="true" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>
  <c:Status>active</c:Status><c:Balance>1234.50</c:Balance><c:BirthDate>1815-12-10</c:BirthDate>
  <c:CreatedAt>2019-03-14T09:26:53+01:00</c:CreatedAt>
  <c:Address><c:Street>1 St James's Sq</c:Street><c:City>London</c:City>
    <c:PostalCode>SW1Y</c:PostalCode><c:Country>GB</c:Country></c:Address>
  <c:Tags>vip</c:Tags>
</c:Customer>
"""


def test_demo_customer(crm: Any) -> None:
    assert crm_reply(crm, "GetCustomer", ADA) == {
        "Customer": {
            "Id": 1,
            "Name": "Ada Lovelace",
            "Email": None,
            "Phone": None,
            "Status": "active",
            "Balance": "1234.50",
            "BirthDate": "1815-12-10",
            "CreatedAt": "2019-03-14T09:26:53+01:00",
            "Address": {
                "Street": "1 St James's Sq",
                "City": "London",
                "PostalCode": "SW1Y",
                "Country": "GB",
            },
            "Tags": ["vip"],
        }
    }


def test_empty_search_answers_with_an_array(crm: Any) -> None:
    result = crm_reply(crm, "SearchCustomers", "<c:Customers/><c:Total>0</c:Total>")
    assert result == {"Customers": {"Customer": []}, "Total": 0}
    expression = compile_expression("{total: Total, customers: Customers.Customer}")
    assert shape(expression, result) == {"total": 0, "customers": []}


def test_search_with_one_hit_is_still_an_array(crm: Any) -> None:
    result = crm_reply(
        crm, "SearchCustomers", f"<c:Customers>{ADA}</c:Customers><c:Total>1</c:Total>"
    )
    assert [c["Name"] for c in result["Customers"]["Customer"]] == ["Ada Lovelace"]


def test_empty_order_list(crm: Any) -> None:
    assert crm_reply(crm, "ListOrders", "<c:Orders/>") == {"Orders": {"Order": []}}


def test_delete_answers_a_boolean(crm: Any) -> None:
    result = crm_reply(crm, "DeleteCustomer", "<c:Deleted>true</c:Deleted>")
    assert shape(compile_expression("{deleted: Deleted}"), result) == {"deleted": True}


# JMESPath shaping


def test_shape_without_expression_keeps_the_whole_result() -> None:
    result = {"Customer": {"Id": 1}}
    assert shape(None, result) is result


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Customer", {"Id": 1, "Lines": [{"Sku": "a", "Qty": 2}, {"Sku": "b", "Qty": 1}]}),
        ("Customer.{id: Id}", {"id": 1}),
        ("Customer.Lines[].Sku", ["a", "b"]),
        ("Customer.Lines[?Qty > `1`].Sku", ["a"]),
        ("Customer.Missing", None),
        ("length(Customer.Lines)", 2),
    ],
)
def test_shape(expression: str, expected: Any) -> None:
    result = {"Customer": {"Id": 1, "Lines": [{"Sku": "a", "Qty": 2}, {"Sku": "b", "Qty": 1}]}}
    assert shape(compile_expression(expression), result) == expected


def test_an_expression_that_fails_on_the_answer_is_a_502() -> None:
    """`length(a)` where the backend sent a number: the answer broke the route."""
    with pytest.raises(ResponseExpressionFailed) as caught:
        shape(compile_expression("length(a)"), {"a": 1})
    assert caught.value.status == 502
    assert shape(compile_expression("length(a)"), {"a": [1, 2]}) == 2
