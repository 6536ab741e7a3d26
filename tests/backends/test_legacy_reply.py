"""Large replies read as they are parsed answer exactly as the whole tree, or step aside.

The demo's ListOrders route, with replies above `STREAMING_BYTES`: compact, indented, with a
last newline, in UTF-16, with an xsi:type inside a record, with a fault, broken. Each
answer (or error) is compared with the same reply translated from its whole tree, and with
the zeep path (the route without its compiled reader).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from large_replies import CRM, ORDERS, indented, order, orders_xml
from lxml import etree
from wsdls import SOAP11_ENV, envelope

from facade.backends import legacy_reply
from facade.backends.legacy_reply import STREAMING_BYTES, read_streaming, translate_reply
from facade.errors import FacadeError, SoapFault
from facade.mapping.loader import load_mappings
from facade.net import Reply
from facade.routetable import CompiledRoute, build_route_table
from facade.soap.message import reply_body
from facade.soap.registry import WsdlRegistry
from facade.translate.xml import parse_xml_streaming

ROOT = Path(__file__).resolve().parent.parent.parent
XML = {"content-type": "text/xml; charset=utf-8"}


def big(text: str, encoding: str = "utf-8") -> Reply:
    content = text.encode(encoding)
    assert len(content) >= STREAMING_BYTES
    return Reply(200, XML, content)


@pytest.fixture(scope="module")
def route() -> CompiledRoute:
    mappings = [m for m in load_mappings(ROOT / "mappings") if m.name == "list-orders"]
    [found] = build_route_table(mappings, WsdlRegistry(ROOT / "wsdl"))
    assert found.reader is not None
    return found


def whole_tree(route: CompiledRoute, reply: Reply, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The answer (or error) as the whole tree gives it, never reading as it parses."""
    with monkeypatch.context() as patch:
        patch.setattr(legacy_reply, "STREAMING_BYTES", len(reply.content) + 1)
        return outcome(lambda: translate_reply(route, reply))


def outcome(translate: Callable[[], Any]) -> Any:
    try:
        return orjson.dumps(translate())
    except FacadeError as exc:
        return (type(exc), exc.status, exc.extensions(), getattr(exc, "fault_detail", None))


@pytest.mark.parametrize(
    "text",
    [orders_xml(), indented(orders_xml()), orders_xml() + "\n", "\r\n" + orders_xml() + " \r\n"],
    ids=["compact", "indented", "last-newline", "spaces-around"],
)
def test_a_large_reply_gives_the_bytes_of_the_whole_tree_and_of_zeep(
    route: CompiledRoute, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = big(text)
    assert route.reader is not None
    assert read_streaming(route.operation, route.reader, reply) is not None  # it did stream
    answer = outcome(lambda: translate_reply(route, reply))
    assert answer == whole_tree(route, reply, monkeypatch)
    zeep = outcome(lambda: translate_reply(replace(route, reader=None), reply))
    assert answer == zeep
    orders = orjson.loads(answer)["Orders"]
    assert len(orders) == ORDERS
    assert orders[5]["Lines"] == [
        {"Sku": "sku-0", "Quantity": 1, "UnitPrice": "0.25"},
        {"Sku": "sku-1", "Quantity": 2, "UnitPrice": "1.25"},
    ]


def test_records_are_emptied_as_they_are_parsed(route: CompiledRoute) -> None:
    """The tree never holds the records' contents: each is read, then emptied."""
    assert route.reader is not None
    reader, early = route.reader, {}
    assert set(reader.early_tags) == {f"{{{CRM}}}Order", f"{{{CRM}}}Line"}
    widest = []

    def finished(element: etree._Element) -> None:
        reader.read_early(element, early)
        widest.append(sum(1 for _ in element.getroottree().iter()))

    content = orders_xml().encode()
    root = parse_xml_streaming(content, reader.early_tags, finished)
    # envelope, body, response, Orders, and one emptied element per order
    assert sum(1 for _ in root.iter()) == 4 + ORDERS
    whole = sum(1 for _ in etree.fromstring(content).iter())
    assert whole > 9 * ORDERS
    assert max(widest) < 4 + ORDERS + whole // 10  # at most the records of a chunk unread
    assert len(early) == ORDERS  # the lines were taken by their orders


def test_the_tree_is_let_go_at_once(route: CompiledRoute, monkeypatch: pytest.MonkeyPatch) -> None:
    """lxml's pull parser and its document hold each other; the reply's tree is emptied
    when the read ends instead of waiting for a garbage collection."""
    roots: list[etree._Element] = []

    def keeping(*args: Any) -> etree._Element:
        roots.append(parse_xml_streaming(*args))
        return roots[-1]

    monkeypatch.setattr(legacy_reply, "parse_xml_streaming", keeping)
    translate_reply(route, big(orders_xml()))
    [root] = roots
    assert len(root) == 0


def test_an_xsi_type_inside_a_record_leaves_it_to_the_whole_tree(
    route: CompiledRoute, monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = big(orders_xml(typed_at=1501))
    assert route.reader is not None
    assert read_streaming(route.operation, route.reader, reply) is None
    answer = outcome(lambda: translate_reply(route, reply))
    assert answer == whole_tree(route, reply, monkeypatch)
    assert answer == outcome(lambda: translate_reply(replace(route, reader=None), reply))


@pytest.mark.parametrize("typed_at", [None, 1501])
def test_a_reply_in_utf16_answers_as_the_whole_tree(
    route: CompiledRoute, typed_at: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UTF-16 bytes hide `:type` from the byte check: the reply is read whole instead."""
    text = '<?xml version="1.0" encoding="UTF-16"?>' + orders_xml(typed_at=typed_at)
    reply = big(text, "utf-16")
    assert route.reader is not None
    assert read_streaming(route.operation, route.reader, reply) is None
    answer = outcome(lambda: translate_reply(route, reply))
    assert answer == whole_tree(route, reply, monkeypatch)
    if typed_at is None:
        assert len(orjson.loads(answer)["Orders"]) == ORDERS


def test_a_fault_in_a_large_ok_reply_is_the_same_fault(
    route: CompiledRoute, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = "".join(order(i) for i in range(ORDERS))
    fault = (
        f'<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:Server</faultcode>'
        f'<faultstring>late</faultstring><detail><c:Orders xmlns:c="{CRM}">{records}'
        "</c:Orders></detail></s:Fault>"
    )
    reply = big(envelope(fault))
    answer = outcome(lambda: translate_reply(route, reply))
    assert answer == whole_tree(route, reply, monkeypatch)
    assert answer[0] is SoapFault
    assert len(answer[3]["Orders"]["Order"]) == ORDERS  # the detail was not emptied


def test_records_in_the_header_are_left_as_they_were(
    route: CompiledRoute, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = f'<s:Header xmlns:s="{SOAP11_ENV}"><c:Order xmlns:c="{CRM}">junk</c:Order></s:Header>'
    text = orders_xml().replace("<s:Body>", header + "<s:Body>", 1)
    reply = big(text)
    answer = outcome(lambda: translate_reply(route, reply))
    assert answer == whole_tree(route, reply, monkeypatch)


@pytest.mark.parametrize(
    "broken",
    [
        lambda text: text[: len(text) // 2],  # cut off
        lambda text: '<!DOCTYPE x [<!ENTITY e "e">]>' + text,
        lambda text: text.replace("<c:Id>100007</c:Id>", "<c:Id>seven</c:Id>"),
        lambda text: text.replace("</c:Orders>", "</c:Orders><c:Orders/>"),
    ],
    ids=["truncated", "doctype", "bad-value", "repeated-member"],
)
def test_a_broken_large_reply_is_reported_as_the_whole_tree_reports_it(
    route: CompiledRoute, broken: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reply = big(broken(orders_xml()))
    assert route.reader is not None
    assert read_streaming(route.operation, route.reader, reply) is None
    answer = outcome(lambda: translate_reply(route, reply))
    assert answer == whole_tree(route, reply, monkeypatch)
    assert answer == outcome(lambda: translate_reply(replace(route, reader=None), reply))


def test_a_reply_is_not_copied_for_its_last_newline(route: CompiledRoute) -> None:
    """Only XML whitespace at the end: parsed as it is, the same as stripped."""
    from facade.soap.message import _stripped

    content = orders_xml(3).encode()
    for kept in (content, content + b"\n", content + b" \r\n\t"):
        assert _stripped(kept) is kept
    assert _stripped(b" " + content) == content  # leading space: refused by the parser
    assert _stripped(content + b"\x0c\n") == content  # a form feed is not XML whitespace
    assert _stripped(b" \n\t") == b""
    for tail in (b"\n", b" \x0c\n", b"\x0b"):
        body = reply_body(route.operation, Reply(200, XML, content + tail))
        assert body is not None and len(body) == 1


def test_a_route_whose_reader_does_not_stream_reads_the_whole_tree(
    route: CompiledRoute, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No repeated complex member: nothing to read early, the ordinary path answers."""
    assert route.reader is not None
    monkeypatch.setattr(route.reader, "early_tags", {})
    reply = big(orders_xml())
    assert read_streaming(route.operation, route.reader, reply) is None
    assert len(orjson.loads(orjson.dumps(translate_reply(route, reply)))["Orders"]) == ORDERS
