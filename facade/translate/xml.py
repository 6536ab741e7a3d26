"""The one hardened XML parse for everything a backend sends, and schema-less XML -> JSON."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import xmltodict
from lxml import etree

_UTF8_BOM = b"\xef\xbb\xbf"
_XML_WHITESPACE = b" \t\r\n"


class UnsafeXml(ValueError):
    """The document carries a DTD, which could declare entities; it is refused whole."""


_HARDENED = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
STREAM_CHUNK = 8 * 1024
"""Bytes handed to the parser at a time by `parse_xml_streaming`: the elements finished in
each chunk are handed on before the next is parsed, while they are still in the CPU's
cache (16 and 32 KiB measured a few per cent slower, 64 KiB more)."""


def hardened_parser() -> etree.XMLParser:
    """The parser for every XML the facade reads itself: no entities, no network, no DTD."""
    return etree.XMLParser(**_HARDENED)


class _ThreadParser(threading.local):
    """One hardened parser per thread: a parser keeps libxml2's context between documents,
    which costs more to set up than parsing a small reply, and must not be shared by
    threads (lxml would serialise them on its lock)."""

    def __init__(self) -> None:
        self.parser = hardened_parser()


_parsers = _ThreadParser()


def parse_xml(content: bytes) -> etree._Element:
    """Parse untrusted bytes; raise etree.XMLSyntaxError or UnsafeXml."""
    root = etree.fromstring(content, parser=_parsers.parser)
    if root.getroottree().docinfo.doctype:
        raise UnsafeXml("document has a DOCTYPE")
    return root


def parse_xml_streaming(
    content: bytes,
    tags: Collection[str],
    finished: Callable[[etree._Element], None],
    chunk: int = STREAM_CHUNK,
) -> etree._Element:
    """`parse_xml` that calls `finished` on each element of one of `tags` as soon as the
    parser has it whole (inner ones first), so that it can be read and emptied while the rest
    is parsed: a large reply's tree then never holds all its records at once. The same
    hardened options and errors as `parse_xml`; what `finished` raises ends the parse."""
    parser = etree.XMLPullParser(events=("end",), tag=tags, **_HARDENED)
    events = parser.read_events()
    for start in range(0, len(content), chunk):
        parser.feed(content[start : start + chunk])
        for _event, element in events:
            finished(element)
    root: etree._Element = parser.close()
    for _event, element in events:  # what the parser held back until the end
        finished(element)
    if root.getroottree().docinfo.doctype:
        raise UnsafeXml("document has a DOCTYPE")
    return root


def parse_xml_file(path: Path) -> etree._Element:
    """Parse a local file (WSDL, XSD) the hardened way; raise OSError or XMLSyntaxError."""
    return etree.fromstring(strip_leading_noise(path.read_bytes()), hardened_parser())


def strip_leading_noise(content: bytes) -> bytes:
    """The document without the whitespace and UTF-8 byte-order marks that editors and vendor
    tools put before the XML declaration, which a strict parser refuses."""
    start = 0
    while start < len(content):
        if content.startswith(_UTF8_BOM, start):
            start += len(_UTF8_BOM)
        elif content[start] in _XML_WHITESPACE:
            start += 1
        else:
            break
    return content[start:]


def element_to_json(element: etree._Element) -> dict[str, Any]:
    """`{localname: content}` for XML that has no schema at hand (xsd:any, fault details).

    Namespaces are dropped, attributes are `@name`, mixed text is `#text` (xmltodict's rules).
    """
    return dict(xmltodict.parse(etree.tostring(_local_names(element))))


def children_to_json(parent: etree._Element) -> dict[str, Any]:
    """The element children of `parent` as one object; repeated names become arrays."""
    result: dict[str, Any] = {}
    for child in parent:
        if isinstance(child.tag, str):
            add_child_json(result, child)
    return result


def add_child_json(result: dict[str, Any], child: etree._Element) -> None:
    """`child` as JSON into `result`, under its local name; a repeated name becomes an array."""
    for key, value in element_to_json(child).items():
        if key not in result:
            result[key] = value
        elif isinstance(result[key], list):
            result[key].append(value)
        else:
            result[key] = [result[key], value]


def _local_names(element: etree._Element) -> etree._Element:
    """A copy of `element` with every namespace dropped from tags and attribute names."""
    clone = copy.deepcopy(element)
    for node in clone.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
        for name in [n for n in node.attrib if n.startswith("{")]:
            node.attrib[etree.QName(name).localname] = node.attrib.pop(name)
    etree.cleanup_namespaces(clone)
    return clone
