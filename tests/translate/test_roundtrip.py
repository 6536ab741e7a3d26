"""Property: a value of a supported XSD type survives JSON -> SOAP -> JSON unchanged.

The request envelope the facade builds is turned into the reply of an echo service (the
body's wrapper renamed), read back by `read_reply` and converted by `to_json`; the result
must be the canonical JSON of the input.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from wsdls import TNS, load_operation, write_wsdl, wsdl

from facade.net import Reply
from facade.soap.message import build_request, read_reply
from facade.soap.operations import SoapOperation
from facade.translate.request import ArgumentSource, build_arguments, compile_expression
from facade.translate.response import to_json

FIELDS = {
    "Text": "string",
    "Int": "int",
    "Long": "long",
    "Short": "short",
    "Byte": "byte",
    "Amount": "decimal",
    "Flag": "boolean",
    "Day": "date",
    "At": "dateTime",
    "Blob": "base64Binary",
    "Ratio": "double",
}
ADDRESS = "http://127.0.0.1:9/echo"

# XML 1.0 carries #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
xml_characters = st.one_of(
    st.sampled_from("\t\n\r <>&\"']]>"),
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
xml_text = st.text(xml_characters, max_size=40)


def integers(low: int, high: int) -> st.SearchStrategy[Any]:
    """JSON numbers from a body, or strings as they come from a path or query."""
    numbers = st.integers(low, high)
    return st.one_of(numbers, numbers.map(str))


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))

values = st.fixed_dictionaries(
    {
        "Text": xml_text,
        "Int": integers(-(2**31), 2**31 - 1),
        "Long": integers(-(2**63), 2**63 - 1),
        "Short": integers(-(2**15), 2**15 - 1),
        "Byte": integers(-(2**7), 2**7 - 1),
        "Amount": st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: f"{d:f}"),
        "Flag": st.one_of(st.booleans(), st.sampled_from(["true", "false", "1", "0"])),
        "Day": st.dates().map(date.isoformat),  # years before 1000 included
        "At": st.datetimes(timezones=offsets).map(datetime.isoformat),
        "Blob": st.binary(max_size=48).map(lambda b: base64.b64encode(b).decode()),
        "Ratio": st.floats(allow_nan=False, allow_infinity=False),
    }
)


def canonical(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON the facade answers for `body`, by the rules of translate/response.py."""
    flag = body["Flag"]
    return {
        # zeep reads an empty element (<Text/>) as None: a required text or binary element
        # comes back as "" (it cannot be absent)
        "Text": body["Text"],
        "Int": int(body["Int"]),
        "Long": int(body["Long"]),
        "Short": int(body["Short"]),
        "Byte": int(body["Byte"]),
        "Amount": f"{Decimal(body['Amount']):f}",
        "Flag": flag if isinstance(flag, bool) else flag in ("true", "1"),
        "Day": body["Day"],
        "At": body["At"],
        "Blob": body["Blob"],
        "Ratio": body["Ratio"],
    }


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> SoapOperation:
    children = "".join(f'<xs:element name="{n}" type="xs:{t}"/>' for n, t in FIELDS.items())
    text = wsdl({"Echo": (children, children)}, address=ADDRESS)
    return load_operation(write_wsdl(tmp_path_factory.mktemp("wsdl"), "echo.wsdl", text), "Echo")


def round_trip(operation: SoapOperation, body: dict[str, Any]) -> Any:
    sources = tuple(
        ArgumentSource(name, compile_expression(f"body.{name}"), operation.argument(name).element)
        for name in FIELDS
    )
    arguments = build_arguments(sources, {"path": {}, "query": {}, "headers": {}, "body": body})
    request = build_request(operation, arguments, ADDRESS)
    envelope = etree.fromstring(request.content)
    wrapper = envelope[0][0]
    assert wrapper.tag == f"{{{TNS}}}Echo"
    wrapper.tag = f"{{{TNS}}}EchoResponse"
    content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    reply = Reply(200, {"content-type": "text/xml; charset=utf-8"}, content)
    return to_json(read_reply(operation, reply), "string", operation.output_type)


@settings(max_examples=50, deadline=None, database=None)
@given(body=values)
def test_every_supported_type_survives_json_soap_json(echo: SoapOperation, body: dict) -> None:
    assert round_trip(echo, body) == canonical(body)


@settings(max_examples=50, deadline=None, database=None)
@given(text=xml_text.filter(bool))
def test_any_xml_text_survives_as_text(echo: SoapOperation, text: str) -> None:
    body = {
        "Text": text,
        "Int": 0,
        "Long": 0,
        "Short": 0,
        "Byte": 0,
        "Amount": "0",
        "Flag": False,
        "Day": "2024-01-01",
        "At": "2024-01-01T00:00:00+00:00",
        "Blob": "AA==",
        "Ratio": 0.0,
    }
    assert round_trip(echo, body)["Text"] == text


@pytest.mark.parametrize(
    "text", ["</Text><Int>1</Int><Text>", "<![CDATA[x]]>", "&lt;", "\r\n\t", "\U0001f600 é 中"]
)
def test_examples_survive(echo: SoapOperation, text: str) -> None:
    body = {
        "Text": text,
        "Int": "-5",
        "Long": "9223372036854775807",
        "Short": -32768,
        "Byte": "127",
        "Amount": "0.0000001",
        "Flag": "1",
        "Day": "1815-12-10",
        "At": "2019-03-14T09:26:53.250000+01:00",
        "Blob": "AAEC/w==",
        "Ratio": 1e-300,
    }
    assert round_trip(echo, body) == canonical(body)
