"""A request writer compiled from an operation's input schema: arguments -> envelope bytes.

zeep builds a request by making value objects of the arguments, rendering them into an lxml
tree element by element, and serialising it; for a small request that is most of the
facade's own CPU on the way out. This writer, compiled once per operation, writes the same
bytes as text: the envelope zeep makes (`soap-env` prefix, the body element's namespace
declared where lxml declares it, `ns0`, `ns1`... in lxml's order, `xsi:nil` as lxml writes
it), each simple value in zeep's own lexical form (its type's `xmlvalue`), escaped as
libxml2 escapes text and attributes.

Like the reply reader (facade/translate/reader.py) it writes only what it writes exactly as
zeep does. An operation with what it does not handle (rpc style, several body parts,
choice, group, xsd:any, anyType, soap-enc arrays, qualified attributes, a plugin or
WS-Addressing) refuses the compile (`Unsupported`); arguments it does not write as zeep
would (a required member missing, an unknown member, a value of an unexpected shape, text
XML cannot carry) are refused (`Declined`), and zeep builds that request, reporting its
errors its own way:

    writer = compile_writer(operation)          # or Unsupported
    try:
        content, headers = writer.write(arguments)
    except Declined:
        ...                                     # zeep's create_envelope
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree
from zeep.xsd import AnySimpleType, ComplexType, Element, Sequence
from zeep.xsd.const import Nil
from zeep.xsd.elements import All, Attribute
from zeep.xsd.types import builtins

from facade.soap.faults import SOAP11_ENV, SOAP12_ENV
from facade.soap.operations import SOAP12, SoapOperation
from facade.soap.zeep_private import (
    addressing_action,
    complex_particle,
    custom_prefixes,
    flat_elements,
    nested_particles,
    single_document_body,
    soapenc_array_attribute,
)

XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"'
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_TEXT_SPECIALS = re.compile("[&<>\r]")
_ATTRIBUTE_SPECIALS = re.compile('[&<>"\n\r\t]')

Text = Callable[[Any], str]


class Unsupported(Exception):
    """The operation's input has a construct the writer does not write; the message names it."""


class Declined(Exception):
    """These arguments have something the writer does not write as zeep would."""


class RequestWriter:
    """Writes one operation's request envelope, as zeep's `create_envelope` and
    `etree.tostring(envelope, xml_declaration=True, encoding="utf-8")` would."""

    def __init__(self, envelope_ns: str, body: _ElementWriter, headers: Mapping[str, str]) -> None:
        self.head = (
            "<?xml version='1.0' encoding='utf-8'?>\n"
            f'<soap-env:Envelope xmlns:soap-env="{envelope_ns}"><soap-env:Body>'
        )
        self.tail = "</soap-env:Body></soap-env:Envelope>"
        self.envelope_ns = envelope_ns
        self.body = body
        self.headers = dict(headers)

    def write(self, arguments: Mapping[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The envelope's bytes and its HTTP headers, or Declined."""
        out = _Output(self.envelope_ns)
        out.parts.append(self.head)
        self.body.write_one(out, dict(arguments), out.scope)
        out.parts.append(self.tail)
        return "".join(out.parts).encode("utf-8"), dict(self.headers)


class _Output:
    """The text being written, and lxml's counter of the `nsN` prefixes it made."""

    __slots__ = ("parts", "counter", "scope")

    def __init__(self, envelope_ns: str) -> None:
        self.parts: list[str] = []
        self.counter = 0
        self.scope: dict[str, str] = {envelope_ns: "soap-env"}


def compile_writer(operation: SoapOperation) -> RequestWriter:
    """The operation's writer, or Unsupported saying what the writer cannot write."""
    zeep_operation = operation.zeep_operation
    body = single_document_body(zeep_operation.input, Unsupported, "request")
    if operation.positional:
        raise Unsupported("a body of simple type")
    if addressing_action(zeep_operation):
        raise Unsupported("WS-Addressing")
    client = operation.client
    if client.plugins or client.wsse or client.settings.extra_http_headers:
        raise Unsupported("client plugins, WS-Security or extra headers")
    if custom_prefixes(client):
        raise Unsupported("custom namespace prefixes")
    if not isinstance(body, Element) or not isinstance(body.type, ComplexType):
        raise Unsupported("the request body is not an element of complex type")
    writer = _Compiler().element(body, str(body.attr_name))
    envelope_ns = SOAP12_ENV if operation.soap_version == SOAP12 else SOAP11_ENV
    return RequestWriter(envelope_ns, writer, _http_headers(operation, zeep_operation))


def _http_headers(operation: SoapOperation, zeep_operation: Any) -> dict[str, str]:
    """SOAPAction and Content-Type as zeep's bindings set them."""
    action = zeep_operation.soapaction
    headers = {"SOAPAction": f'"{action}"' if action else '""'}
    if operation.soap_version == SOAP12:
        headers["Content-Type"] = f'application/soap+xml; charset=utf-8; action="{action}"'
    else:
        headers["Content-Type"] = "text/xml; charset=utf-8"
    return headers


# --- writing -------------------------------------------------------------------------------


def _open_tag(
    out: _Output, ns: str | None, local: str, scope: dict[str, str]
) -> tuple[str, str, dict[str, str]]:
    """The start of an element's tag (without `>`), its name for the end tag, and the
    namespaces in scope inside it: lxml declares a namespace not yet in scope on the
    element itself, with the document's next `nsN` prefix."""
    if ns is None:
        return f"<{local}", local, scope
    prefix = scope.get(ns)
    if prefix is not None:
        name = f"{prefix}:{local}"
        return f"<{name}", name, scope
    prefix = f"ns{out.counter}"
    out.counter += 1
    name = f"{prefix}:{local}"
    inner = {**scope, ns: prefix}
    return f'<{name} xmlns:{prefix}="{_attribute_text(ns)}"', name, inner


def _text(text: str) -> str:
    if _NOT_XML.search(text):
        raise Declined("text XML cannot carry")  # zeep's path refuses it with its message
    return text.translate(_TEXT_ESCAPES) if _TEXT_SPECIALS.search(text) else text


def _attribute_text(text: str) -> str:
    if _NOT_XML.search(text):
        raise Declined("text XML cannot carry")
    return text.translate(_ATTRIBUTE_ESCAPES) if _ATTRIBUTE_SPECIALS.search(text) else text


class _ElementWriter:
    """One element particle: its name, tag, occurrences, and how its content is written."""

    __slots__ = (
        *("name", "ns", "local", "multiple", "min", "max", "optional", "nillable"),
        *("defaulted", "simple", "complex"),
    )

    def __init__(self, name: str, element: Any) -> None:
        qname = element.qname
        self.name = name
        self.ns: str | None = qname.namespace or None
        self.local: str = qname.localname
        self.multiple = element.max_occurs != 1
        self.min: int = element.min_occurs
        self.max: int | None = None if element.max_occurs == "unbounded" else element.max_occurs
        self.optional = element.min_occurs == 0
        self.nillable = bool(element.nillable)
        self.defaulted = element.default is not None
        self.simple: Text | None = None
        self.complex: _ComplexWriter | None = None

    def write(self, out: _Output, value: Any, scope: dict[str, str]) -> None:
        """The element for `value` as zeep renders a member: absent, once, or per item."""
        if self.multiple:
            if value is None:
                value = []  # zeep's value for an absent repeated member
            if not isinstance(value, list):
                raise Declined(f"{self.name}: not a list")
            if len(value) < self.min or (self.max is not None and len(value) > self.max):
                raise Declined(f"{self.name}: {len(value)} occurrences")
            for item in value:
                self.write_one(out, item, scope)
            return
        if value is None:
            if self.optional:
                return
            if not self.nillable or self.defaulted:
                raise Declined(f"{self.name} is missing")  # zeep reports it
            value = Nil
        self.write_one(out, value, scope)

    def write_one(self, out: _Output, value: Any, scope: dict[str, str]) -> None:
        start, name, inner = _open_tag(out, self.ns, self.local, scope)
        parts = out.parts
        if value is Nil:
            parts.append(f"{start}{_NIL}/>")
            return
        if value is None or isinstance(value, list):
            raise Declined(f"{self.name}: {type(value).__name__} item")
        if self.simple is not None:
            parts.append(f"{start}>{_text(self.simple(value))}</{name}>")
            return
        assert self.complex is not None  # noqa: S101 - compiled with one or the other
        self.complex.write(out, value, start, name, inner)


class _AttributeWriter:
    __slots__ = ("name", "local", "required", "defaulted", "text")

    def __init__(self, name: str, attribute: Any, text: Text) -> None:
        self.name = name
        self.local: str = attribute.qname.localname
        self.required = bool(attribute.required)
        self.defaulted = attribute.default_value is not None
        self.text = text


class _ComplexWriter:
    """A complex type: attributes, then a sequence or all of elements, or simple content."""

    def __init__(self) -> None:
        self.attributes: tuple[_AttributeWriter, ...] = ()
        self.fields: tuple[_ElementWriter, ...] = ()
        self.content: Text | None = None  # simple content, under content_name
        self.content_name = ""
        self.names: frozenset[str] = frozenset()

    def write(self, out: _Output, value: Any, start: str, name: str, scope: dict[str, str]) -> None:
        if not isinstance(value, dict):
            raise Declined(f"{name}: not an object")
        if not self.names.issuperset(value):
            raise Declined(f"{name}: a member the type does not have")  # zeep: TypeError
        parts = out.parts
        parts.append(start)
        for attribute in self.attributes:
            item = value.get(attribute.name)
            if item is None:
                if attribute.required or attribute.defaulted:
                    raise Declined(f"{attribute.name} is missing")  # zeep: error or default
                continue
            if item is Nil:
                raise Declined(f"{attribute.name} is nil")
            parts.append(f' {attribute.local}="{_attribute_text(attribute.text(item))}"')
        if self.content is not None:
            item = value.get(self.content_name)
            if item is None or item is Nil:
                raise Declined(f"{self.content_name} is missing")
            parts.append(f">{_text(self.content(item))}</{name}>")
            return
        mark = len(parts)
        parts.append(">")
        for field in self.fields:
            field.write(out, value.get(field.name), scope)
        if len(parts) == mark + 1:
            parts[mark] = "/>"  # no children: lxml writes an empty element
        else:
            parts.append(f"</{name}>")


# --- compiling -----------------------------------------------------------------------------


class _Compiler:
    def __init__(self) -> None:
        self.complex: dict[int, _ComplexWriter] = {}

    def element(self, element: Any, name: str) -> _ElementWriter:
        if not isinstance(element, Element) or isinstance(element, Attribute):
            raise Unsupported(f"{type(element).__name__} particle")
        writer = _ElementWriter(name, element)
        xsd_type = element.type
        if isinstance(xsd_type, ComplexType):
            writer.complex = self.complex_type(xsd_type)
        elif isinstance(xsd_type, AnySimpleType):
            writer.simple = simple_text(xsd_type)
        else:
            raise Unsupported(f"type {type(xsd_type).__name__}")
        return writer

    def complex_type(self, xsd_type: Any) -> _ComplexWriter:
        known = self.complex.get(id(xsd_type))
        if known is not None:
            return known  # recursive types: the writer being compiled
        writer = _ComplexWriter()
        self.complex[id(xsd_type)] = writer
        if soapenc_array_attribute(xsd_type) is not None:
            raise Unsupported("soap-enc array")
        particle = complex_particle(xsd_type)
        if isinstance(particle, Element):
            if not isinstance(particle.type, AnySimpleType):
                raise Unsupported("complex content of one element")
            writer.content_name = str(nested_particles(xsd_type)[0][0])
            writer.content = simple_text(particle.type)
        elif particle is not None:
            writer.fields = tuple(self._particles(particle))
        writer.attributes = tuple(self._attributes(xsd_type))
        names = [f.name for f in writer.fields] + [a.name for a in writer.attributes]
        if writer.content is not None:
            names.append(writer.content_name)
        if len(set(names)) != len(names):
            raise Unsupported("repeated member names")
        writer.names = frozenset(names)
        return writer

    def _particles(self, particle: Any) -> list[_ElementWriter]:
        if type(particle) not in (Sequence, All) or particle.max_occurs != 1:
            raise Unsupported(f"{type(particle).__name__} content")
        elements = flat_elements(particle, Unsupported)
        if [name for name, _ in elements] != [name for name, _ in particle.elements]:
            raise Unsupported("generated member names")
        return [self.element(element, name) for name, element in elements]

    def _attributes(self, xsd_type: Any) -> list[_AttributeWriter]:
        writers = []
        for name, attribute in xsd_type.attributes:
            if not isinstance(attribute, Attribute) or attribute.name is None:
                raise Unsupported("xs:anyAttribute")
            if attribute.qname.namespace:
                raise Unsupported("qualified attribute")
            if not isinstance(attribute.type, AnySimpleType):
                raise Unsupported("attribute of a complex type")
            writers.append(_AttributeWriter(name, attribute, simple_text(attribute.type)))
        return writers


def simple_text(xsd_type: Any) -> Text:
    """Value -> the text zeep writes for it (its type's `xmlvalue`, as lxml takes it)."""
    if type(xsd_type).render is not AnySimpleType.render:
        raise Unsupported(f"simple type {type(xsd_type).__name__}")
    xmlvalue = xsd_type.xmlvalue
    if type(xsd_type).xmlvalue is builtins.String.xmlvalue:
        return _string(xmlvalue)

    def text(value: Any) -> str:
        return _lxml_text(xmlvalue, value)

    return text


def _string(xmlvalue: Callable[[Any], Any]) -> Text:
    def text(value: Any) -> str:
        if type(value) is str:
            return value
        return _lxml_text(xmlvalue, value)

    return text


def _lxml_text(xmlvalue: Callable[[Any], Any], value: Any) -> str:
    """The type's text for `value` as lxml takes it: a string, or UTF-8 bytes."""
    if isinstance(value, etree.CDATA) or value is Nil:
        raise Declined(type(value).__name__)
    try:
        text = xmlvalue(value)
    except (ValueError, TypeError, AttributeError, ArithmeticError) as exc:
        raise Declined(f"{type(exc).__name__} from xmlvalue") from exc  # zeep reports it
    if isinstance(text, str):
        return text
    if isinstance(text, bytes):
        try:
            return text.decode("utf-8")
        except UnicodeDecodeError:
            raise Declined("bytes that are not UTF-8") from None
    raise Declined(f"{type(text).__name__} text")
