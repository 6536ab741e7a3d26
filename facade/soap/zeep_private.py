"""The parts of zeep the facade relies on that zeep does not document, in one place.

zeep is bounded `>=4.2.1,<5` in pyproject.toml. Every item below was read in the sources of
zeep 4.2.1 and 4.3.3, where it is the same, and tests/soap/test_zeep_private.py runs each one
against a real WSDL: when a zeep upgrade moves one, a test named after it fails.

zeep reads as untyped here (see pyproject.toml), so these functions are also where its
values get types. zeep's documented API (Client, Settings, Transport.load, Binding.all and
get, Element.parse and render, helpers.serialize_object) is used directly elsewhere.

Conventions rather than calls, kept here so that every module spells them the same:

- SIMPLE_CONTENT_KEY: the key of the text value of an element that also has attributes;
- RAW_ELEMENTS_KEY: the key of reply elements a lenient parse could not place;
- UNREADABLE_VALUE_LOGGER: the logger on which zeep reports a value it could not read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from lxml import etree
from zeep.wsdl.messages.soap import DocumentMessage
from zeep.xsd import Element
from zeep.xsd import Sequence as XsdSequence
from zeep.xsd.context import XmlParserContext
from zeep.xsd.types import builtins
from zeep.xsd.valueobjects import CompoundValue

SIMPLE_CONTENT_KEY = "_value_1"
"""zeep models `xs:simpleContent` as one child element of this name holding the base type
(`ComplexType.elements` is `[("_value_1", Element)]`), and values carry the text under it.
It is also the first of the names zeep generates for nested indicators and `xs:any`."""

RAW_ELEMENTS_KEY = "_raw_elements"
"""With `Settings(strict=False)`, a complex value keeps the elements its type does not declare
under this key, as lxml elements, next to the declared ones."""

UNREADABLE_VALUE_LOGGER = "zeep.xsd.types.simple"
"""`AnySimpleType.parse_xmlelement` logs (at ERROR, with the exception) a value it cannot
convert, `<Id>one</Id>` for an xs:int, and reads it as None instead of raising. A handler
on this logger is the only way to notice."""


def create_envelope(
    binding: Any,
    operation: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    *,
    client: Any,
    address: str,
) -> tuple[etree._Element, dict[str, str]]:
    """The request envelope of `operation` and its HTTP headers, without sending it.

    `SoapBinding._create(operation, args, kwargs, client=, options=)`: zeep's own send path
    minus the transport, so SOAPAction and Content-Type come with the envelope and
    WS-Addressing, plugins and WS-Security are applied. The public `Client.create_message`
    returns the envelope only, without the headers.
    """
    envelope, headers = binding._create(
        operation, tuple(args), dict(kwargs), client=client, options={"address": address}
    )
    return envelope, {str(key): str(value) for key, value in headers.items()}


def deserialize_body(message: Any, body: etree._Element) -> Any:
    """The typed result of a reply's `soap:Body`, read by the output message's schema.

    `SoapMessage._deserialize_body(body)["body"]`. The public `process_reply` would also
    parse the bytes and raise faults itself; the facade does both first, on its own terms.
    """
    return message._deserialize_body(body)["body"]


def is_body_wrapped(message: Any) -> bool:
    """True when zeep wrapped the message's parts in a Body element of its own making.

    `SoapMessage._is_body_wrapped`: set for document-style messages of several parts; then
    `message.body` is not the element a request carries as the child of `soap:Body`.
    """
    return bool(message._is_body_wrapped)


def parse_element(element: Any, node: etree._Element, wsdl: Any) -> Any:
    """`node` read by the zeep `element`, under the settings the WSDL was loaded with.

    `Element.parse` is public, but its settings (strictness, sequence order) travel in an
    `XmlParserContext` from the undocumented module `zeep.xsd.context`.
    """
    context = XmlParserContext(settings=wsdl.settings)
    return element.parse(node, wsdl.types, context=context)


def is_compound(value: object) -> bool:
    """True for the value of an XSD complex type as zeep reads it (`CompoundValue`).

    `zeep.xsd.valueobjects.CompoundValue` is the base class of every generated value class.
    """
    return isinstance(value, CompoundValue)


def compound_type(value: Any) -> Any:
    """The zeep ComplexType a compound value was read as (`CompoundValue._xsd_type`)."""
    return value._xsd_type


def compound_items(value: Any) -> Iterator[tuple[str, Any]]:
    """A compound value's members in document order, attributes and RAW_ELEMENTS_KEY too.

    `CompoundValue.__values__`, the ordered dict behind its attribute and item access.
    """
    for key, item in value.__values__.items():
        yield str(key), item


def builtin_qname(xsd_type: object) -> etree.QName | None:
    """The XSD built-in type that a zeep simple type is, or restricts; None for others.

    zeep builds a restriction as a subclass of its base's class, and only the built-in
    classes in `zeep.xsd.types.builtins` declare `_default_qname` (`{XSD}int`).
    """
    for cls in type(xsd_type).__mro__:
        if cls.__module__ == builtins.__name__ and "_default_qname" in vars(cls):
            return etree.QName(vars(cls)["_default_qname"])
    return None


def nested_particles(particle: Any) -> list[tuple[str | None, Any]]:
    """The children of a complex type or of a sequence, all, choice or group, unflattened.

    `elements_nested`: (name, Element) for an element, and (a generated name such as
    SIMPLE_CONTENT_KEY, or None) for a nested indicator. The documented `elements` flattens
    choices and groups away.
    """
    return [(name, child) for name, child in particle.elements_nested]


def flat_elements(particle: Any, refuse: type[Exception]) -> list[tuple[str, Any]]:
    """The elements of a sequence, nested single sequences flattened as zeep reads and
    writes them; anything else in it (a choice, a group, a repeated sequence) raises
    `refuse` naming it."""
    result: list[tuple[str, Any]] = []
    for name, child in nested_particles(particle):
        if isinstance(child, Element):
            result.append((str(name), child))
        elif name is None and type(child) is XsdSequence and child.max_occurs == 1:
            result.extend(flat_elements(child, refuse))
        else:
            raise refuse(f"{type(child).__name__} in a sequence")
    return result


def soapenc_array_attribute(xsd_type: Any) -> Any | None:
    """The `soapenc:arrayType` attribute of an rpc/encoded array type, None for others.

    `ComplexType._array_type`. Its `array_type` is the declared item type (`xs:int[]` gives
    xs:int), None when the WSDL leaves out `wsdl:arrayType`.
    """
    return getattr(xsd_type, "_array_type", None)


def port_address(port: Any) -> str | None:
    """The `soap:address` location of a WSDL port, None when the port declares none.

    `Port.binding_options["address"]`: what the binding read from the port's extension
    elements; zeep offers no other way to ask a port where it is served.
    """
    address = (port.binding_options or {}).get("address")
    return None if address is None else str(address)


def fault_messages(operation: Any) -> dict[str, Any]:
    """The `wsdl:fault` messages of a bound operation, by fault name.

    `operation.abstract.fault_messages`: the portType operation's faults, each a message
    whose parts name the detail elements. zeep reads them but never exposes them otherwise.
    """
    return dict(getattr(operation.abstract, "fault_messages", None) or {})


def complex_particle(xsd_type: Any) -> Any:
    """The content particle of a complex type: a Sequence, All, Choice or Group, the one
    Element of simple content (SIMPLE_CONTENT_KEY), or None (`ComplexType._element`)."""
    return xsd_type._element


def is_document_message(message: Any) -> bool:
    """True for a document-style message; rpc-style ones wrap their parts and resolve
    multi-references (`zeep.wsdl.messages.soap.DocumentMessage`, not exported by zeep)."""
    return isinstance(message, DocumentMessage)


def single_document_body(message: Any, refuse: type[Exception], side: str) -> Any:
    """The body of a document-style message of one part (what the compiled reader and
    writer handle), or `refuse` saying what the message is instead."""
    if message is None or message.body is None:
        raise refuse(f"the operation has no {side} body")
    if not is_document_message(message):
        raise refuse("rpc-style message")
    if is_body_wrapped(message):
        raise refuse("document message of several parts")
    return message.body


def custom_prefixes(client: Any) -> dict[str, str]:
    """The namespace prefixes set with `Client.set_ns_prefix`, which zeep declares on every
    request envelope (`client.wsdl.types._prefix_map_custom`)."""
    return dict(client.wsdl.types._prefix_map_custom)


def addressing_action(operation: Any) -> str | None:
    """The WS-Addressing action of a bound operation (`wsam:Action` or `wsaw:Action` on its
    portType input, as `operation.abstract.wsa_action`): zeep adds WS-Addressing headers to
    the requests of an operation that has one."""
    action = getattr(operation.abstract, "wsa_action", None)
    return None if action is None else str(action)
