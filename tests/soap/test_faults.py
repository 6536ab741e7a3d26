"""SOAP 1.1 and 1.2 faults read into plain values, and the HTTP status chosen for them."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from wsdls import SOAP11_ENV, SOAP12_ENV

from facade.soap.faults import (
    CLIENT_FAULT_STATUS,
    SERVER_FAULT_STATUS,
    Fault,
    fault_status,
    find_fault,
)

CRM = "http://example.com/crm"


def soap11(fault_children: str) -> etree._Element:
    return etree.fromstring(
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV}"><soap:Body><soap:Fault>'
        f"{fault_children}</soap:Fault></soap:Body></soap:Envelope>"
    )


def soap12(fault_children: str) -> etree._Element:
    return etree.fromstring(
        f'<env:Envelope xmlns:env="{SOAP12_ENV}" xmlns:app="urn:app"><env:Body><env:Fault>'
        f"{fault_children}</env:Fault></env:Body></env:Envelope>"
    )


# SOAP 1.1


def test_soap11_fault_with_namespaced_detail() -> None:
    fault = find_fault(
        soap11(
            "<faultcode>soap:Client</faultcode>"
            "<faultstring>Customer 42 not found</faultstring>"
            f'<detail><c:CustomerNotFound xmlns:c="{CRM}"><c:CustomerId>42</c:CustomerId>'
            "</c:CustomerNotFound></detail>"
        )
    )
    assert fault == Fault(
        code="Client",
        message="Customer 42 not found",
        detail={"CustomerNotFound": {"CustomerId": "42"}},
    )
    assert fault.detail_names == ("CustomerNotFound",)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("soap:Server", "Server"),
        ("Server", "Server"),
        (" s:Client.Authentication ", "Client.Authentication"),
        ("soap:Server.Database.Timeout", "Server.Database.Timeout"),
        ("ns1:MustUnderstand", "MustUnderstand"),
        ("", ""),
    ],
)
def test_soap11_codes_lose_their_prefix_and_keep_their_dots(code: str, expected: str) -> None:
    fault = find_fault(soap11(f"<faultcode>{code}</faultcode><faultstring>x</faultstring>"))
    assert fault is not None
    assert fault.code == expected
    assert fault.subcodes == ()


def test_soap11_fault_without_detail_or_string() -> None:
    fault = find_fault(soap11("<faultcode>soap:Server</faultcode>"))
    assert fault == Fault(code="Server", message="", detail=None)


@pytest.mark.parametrize("detail", ["<detail/>", "<detail>   \n </detail>"])
def test_empty_detail_is_none(detail: str) -> None:
    fault = find_fault(
        soap11(f"<faultcode>soap:Server</faultcode><faultstring>x</faultstring>{detail}")
    )
    assert fault.detail is None
    assert fault.detail_names == ()


def test_detail_with_text_only() -> None:
    fault = find_fault(
        soap11(
            "<faultcode>Server</faultcode><faultstring>x</faultstring><detail> disk full </detail>"
        )
    )
    assert fault.detail == "disk full"
    assert fault.detail_names == ()


def test_detail_with_several_children_attributes_and_repeats() -> None:
    fault = find_fault(
        soap11(
            "<faultcode>soap:Client</faultcode><faultstring>invalid</faultstring>"
            '<detail xmlns:v="urn:validation">'
            '<v:Error v:field="Name" severity="high">too long</v:Error>'
            '<v:Error v:field="Email">missing</v:Error>'
            "<v:TraceId>abc</v:TraceId></detail>"
        )
    )
    assert fault.detail == {
        "Error": [
            {"@field": "Name", "@severity": "high", "#text": "too long"},
            {"@field": "Email", "#text": "missing"},
        ],
        "TraceId": "abc",
    }
    assert fault.detail_names == ("Error", "TraceId")


def test_declared_detail_elements_are_typed_once_and_repeats_stay_untyped() -> None:
    read: list[str] = []

    def typed(element: etree._Element) -> Any:
        name = etree.QName(element).localname
        read.append(name)
        return {"Id": int(element.findtext("Id") or 0)} if name != "Unknown" else None

    fault = find_fault(
        soap11(
            "<faultcode>soap:Client</faultcode><faultstring>no</faultstring>"
            "<detail><NotFound><Id>42</Id></NotFound><Unknown><Id>1</Id></Unknown>"
            "<Error>a</Error><Error>b</Error></detail>"
        ),
        typed,
    )
    assert fault is not None
    assert fault.detail == {
        "NotFound": {"Id": 42},
        "Unknown": {"Id": "1"},
        "Error": ["a", "b"],
    }
    assert read == ["NotFound", "Unknown"]  # a repeated name is never read by the schema


def test_soap11_children_qualified_by_a_sloppy_server() -> None:
    fault = find_fault(
        soap11(
            "<soap:faultcode>soap:Client</soap:faultcode>"
            "<soap:faultstring> bad input </soap:faultstring>"
            "<soap:detail><Reason>x</Reason></soap:detail>"
        )
    )
    assert (fault.code, fault.message, fault.detail) == ("Client", "bad input", {"Reason": "x"})


def test_comments_in_detail_are_ignored() -> None:
    fault = find_fault(
        soap11("<faultcode>Server</faultcode><detail><!-- note --><Code>7</Code></detail>")
    )
    assert fault.detail == {"Code": "7"}


# SOAP 1.2


def test_soap12_fault_with_subcodes_and_detail() -> None:
    fault = find_fault(
        soap12(
            "<env:Code><env:Value>env:Sender</env:Value>"
            "<env:Subcode><env:Value>app:NotFound</env:Value>"
            "<env:Subcode><env:Value>app:CustomerMissing</env:Value></env:Subcode>"
            "</env:Subcode></env:Code>"
            '<env:Reason><env:Text xml:lang="en"> Customer 42 not found </env:Text>'
            '<env:Text xml:lang="fr">Client 42 introuvable</env:Text></env:Reason>'
            f'<env:Detail><c:CustomerNotFound xmlns:c="{CRM}"><c:CustomerId>42</c:CustomerId>'
            "</c:CustomerNotFound></env:Detail>"
        )
    )
    assert fault == Fault(
        code="Sender",
        message="Customer 42 not found",
        detail={"CustomerNotFound": {"CustomerId": "42"}},
        subcodes=("NotFound", "CustomerMissing"),
    )


def test_soap12_fault_without_detail_or_reason() -> None:
    fault = find_fault(soap12("<env:Code><env:Value>env:Receiver</env:Value></env:Code>"))
    assert fault == Fault(code="Receiver", message="", detail=None)


def test_soap12_detail_with_text_only() -> None:
    fault = find_fault(
        soap12(
            "<env:Code><env:Value>env:Receiver</env:Value></env:Code>"
            "<env:Reason><env:Text>x</env:Text></env:Reason><env:Detail>retry later</env:Detail>"
        )
    )
    assert fault.detail == "retry later"


def test_a_soap11_fault_shape_in_a_soap12_envelope_is_still_a_fault() -> None:
    fault = find_fault(soap12("<faultcode>Client</faultcode>"))
    assert fault == Fault(code="", message="", detail=None)


# No fault


@pytest.mark.parametrize(
    "xml",
    [
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body><Ok/></s:Body></s:Envelope>',
        f'<s:Envelope xmlns:s="{SOAP12_ENV}"><s:Body/></s:Envelope>',
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Header/></s:Envelope>',
        # a Fault in another namespace is the application's element, not a SOAP fault
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body><Fault/></s:Body></s:Envelope>',
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body><s:Result><s:Fault/></s:Result></s:Body>'
        "</s:Envelope>",
    ],
)
def test_no_fault(xml: str) -> None:
    assert find_fault(etree.fromstring(xml)) is None


# The HTTP status of a fault


def fault(code: str, detail: Any = None, subcodes: tuple[str, ...] = ()) -> Fault:
    return Fault(code=code, message="m", detail=detail, subcodes=subcodes)


MAPPING = {"CustomerNotFound": 404, "NotFound": 410, "Sender": 422, "Client": 409}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (fault("Sender", {"CustomerNotFound": {}}, ("NotFound",)), 404),
        (fault("Sender", {"Other": {}, "CustomerNotFound": {}}, ("NotFound",)), 404),
        (fault("Sender", {"Other": {}}, ("NotFound",)), 410),
        (fault("Sender", "CustomerNotFound", ("Unknown",)), 422),
        (fault("Sender"), 422),
        (fault("Client"), 409),
        (fault("Receiver", {"CustomerNotFound": None}), 404),
    ],
)
def test_status_precedence_detail_then_subcode_then_code(value: Fault, expected: int) -> None:
    assert fault_status(value, MAPPING) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Client", CLIENT_FAULT_STATUS),
        ("Sender", CLIENT_FAULT_STATUS),
        ("Client.Authentication", CLIENT_FAULT_STATUS),
        ("Server", SERVER_FAULT_STATUS),
        ("Receiver", SERVER_FAULT_STATUS),
        ("Server.Busy", SERVER_FAULT_STATUS),
        ("VersionMismatch", SERVER_FAULT_STATUS),
        ("MustUnderstand", SERVER_FAULT_STATUS),
        ("", SERVER_FAULT_STATUS),
        ("ClientError", SERVER_FAULT_STATUS),
    ],
)
def test_default_status(code: str, expected: int) -> None:
    assert (CLIENT_FAULT_STATUS, SERVER_FAULT_STATUS) == (400, 502)
    assert fault_status(fault(code), {}) == expected


def test_dotted_code_can_be_mapped_exactly() -> None:
    mapping = {"Client.Authentication": 401}
    assert fault_status(fault("Client.Authentication"), mapping) == 401
    assert fault_status(fault("Client.Quota"), mapping) == 400


def test_a_text_detail_is_never_taken_for_element_names() -> None:
    assert fault_status(fault("Server", "CustomerNotFound"), {"CustomerNotFound": 404}) == 502


@pytest.mark.parametrize(
    ("code", "mapping", "expected"),
    [
        ("Client.CustomerNotFound", {"CustomerNotFound": 404}, 404),
        ("Client.CustomerNotFound", {"Client": 409}, 409),
        ("Client.CustomerNotFound", {"Client": 409, "CustomerNotFound": 404}, 404),
        ("Client.CustomerNotFound.Archived", {"CustomerNotFound": 404, "Archived": 410}, 410),
        ("Client.CustomerNotFound.Archived", {"CustomerNotFound": 404}, 404),
        ("Client.Quota", {"Client.Quota": 429, "Quota": 403}, 429),
        ("Server.Database", {"Client": 409}, SERVER_FAULT_STATUS),
        ("Client.Other", {"CustomerNotFound": 404}, CLIENT_FAULT_STATUS),
    ],
)
def test_dotted_soap11_code_parts_match_like_subcodes(
    code: str, mapping: dict[str, int], expected: int
) -> None:
    assert fault_status(fault(code), mapping) == expected


def test_dotted_code_read_from_an_envelope_is_mapped_by_its_refinement() -> None:
    parsed = find_fault(
        soap11("<faultcode>soap:Client.CustomerNotFound</faultcode><faultstring>x</faultstring>")
    )
    assert parsed is not None
    assert fault_status(parsed, {"CustomerNotFound": 404}) == 404


def test_innermost_soap12_subcode_wins() -> None:
    value = fault("Sender", None, ("NotFound", "CustomerNotFound"))
    assert fault_status(value, {"NotFound": 410, "CustomerNotFound": 404}) == 404
