"""A legacy reply -> the route's JSON: classified, read by the WSDL, typed, shaped.

A plain function of the compiled route and the raw reply, so it runs the same on the event
loop and in the translator's child process. The route's compiled reader reads the reply
when it can; zeep reads what the reader declines, and the operations it was not compiled
for.

A large reply is first read as it is parsed (`read_streaming`): its repeated records are
read and emptied one by one, so the whole tree, seven times the reply's size in libxml2's
nodes, never exists at once. Anything out of the ordinary (a fault, an error, a reply the
reader declines) is then translated again the ordinary way, which answers it exactly.
"""

from __future__ import annotations

import codecs
from functools import partial

from lxml import etree

from facade.errors import FacadeError, SoapFault
from facade.net.seam import Reply
from facade.routetable import CompiledRoute
from facade.soap.faults import fault_status, mapped_status
from facade.soap.message import FaultReply, deserialize_reply_body, reply_body
from facade.soap.operations import SoapOperation
from facade.translate.reader import Declined, EarlyReads, ReplyReader, has_xsi_type
from facade.translate.response import shape, to_json
from facade.translate.xml import parse_xml_streaming
from facade.types import JSON

STREAMING_BYTES = 256 * 1024
"""Replies from this size on are read as they are parsed: below it the tree is small, and
the ordinary parse is quicker."""

_ASCII_NAMES = frozenset({"utf-8", "ascii", "latin-1", "cp1252"})
"""Encodings (by Python's codec name, `_codec`) in which an attribute name is its ASCII
bytes; other ISO-8859 and windows-125x codecs are matched by prefix."""


def translate_reply(route: CompiledRoute, reply: Reply) -> JSON:
    """The reply as the route's JSON, or the SoapFault/BackendError it stands for."""
    if route.reader is not None and len(reply.content) >= STREAMING_BYTES:
        typed = read_streaming(route.operation, route.reader, reply)
        if typed is not None:
            return shape(route.response, typed[0])
    legacy = route.mapping.legacy
    try:
        body = reply_body(route.operation, reply)
    except FaultReply as exc:
        fault = exc.fault
        raise SoapFault(
            code=fault.code,
            message=fault.message,
            detail=fault.detail,
            subcodes=fault.subcodes,
            status=fault_status(fault, legacy.faults),
            mapped=mapped_status(fault, legacy.faults) is not None,
        ) from exc
    if body is None:
        typed_json = to_json(None, legacy.decimals, route.operation.output_type)
    else:
        typed_json = read_body(route, body, reply.status)
    return shape(route.response, typed_json)


def read_body(route: CompiledRoute, body: etree._Element, status: int) -> JSON:
    """The typed JSON of a reply's soap:Body: by the compiled reader, else by zeep."""
    if route.reader is not None:
        try:
            return route.reader.read_body(body)
        except Declined:
            pass  # something the reader does not read as zeep does: zeep reads it
    result = deserialize_reply_body(route.operation, body, status)
    return to_json(result, route.mapping.legacy.decimals, route.operation.output_type)


class _NotStreamed(Exception):
    """This reply is translated the ordinary way instead."""


def read_streaming(
    operation: SoapOperation, reader: ReplyReader, reply: Reply
) -> tuple[JSON] | None:
    """The typed JSON of an ordinary reply (HTTP 200, no fault, one the reader reads),
    its records read as the parser finishes each; None for anything else, which the
    ordinary path then translates (and reports) exactly as it would have.

    The reader needs to see xsi:type anywhere in the body element to decline it, and an
    element emptied after its early read no longer shows it: each is checked before,
    unless the reply's bytes hold no `:type` at all in an encoding where attribute names
    are their ASCII bytes (known once parsed)."""
    if not reader.early_tags or reply.status != 200:
        return None
    early: EarlyReads = {}
    typed_attributes = b":type" in reply.content

    def checked(element: etree._Element) -> None:
        if has_xsi_type(element):
            raise _NotStreamed()
        reader.read_early(element, early)

    finished = checked if typed_attributes else partial(reader.read_early, early=early)
    parsed: list[etree._Element] = []

    def parse(content: bytes) -> etree._Element:
        parsed.append(parse_xml_streaming(content, reader.early_tags, finished))
        return parsed[0]

    try:
        body = reply_body(operation, reply, parse)
        if body is None or not (typed_attributes or _names_in_ascii(body)):
            return None
        return (reader.read_body(body, early),)
    except (_NotStreamed, Declined, FaultReply, FacadeError):
        return None
    finally:
        for root in parsed:
            # lxml's pull parser and its document hold each other: without this the
            # tree would wait for the next garbage collection, and replies stack up
            root.clear()


def _names_in_ascii(node: etree._Element) -> bool:
    """Whether the document's encoding writes every ASCII character as its ASCII byte."""
    encoding = node.getroottree().docinfo.encoding
    name = _codec(encoding or "utf-8")
    return name in _ASCII_NAMES or name.startswith(("iso8859-", "cp125"))


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return ""
