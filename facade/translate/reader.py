"""A reply reader compiled from an operation's output schema: lxml tree -> JSON, no zeep.

zeep reads a reply into its object model and `to_json` turns that into JSON; for a large
reply that object model is nine tenths of the cost. This reader walks the lxml tree with
the same schema and writes the JSON `to_json` would write from zeep's values, directly:
types and single-vs-array come from the schema.

It reads only what it can read exactly as zeep does. A schema construct it does not handle
(choice, group, xsd:any, anyType, soap-enc arrays, union types, rpc-style messages) refuses
the compile (`Unsupported`), and the operation keeps the zeep path. A reply with what the
reader does not read as zeep would (xsi:type, a missing required element, an element zeep
might take for a member by its local name, a value that does not parse) is refused
(`Declined`) and read by zeep instead, which also reports its errors its own way:

    reader = compile_reader(operation, "string")      # or Unsupported
    try:
        answer = reader.read_body(body)               # the soap:Body element
    except Declined:
        answer = to_json(zeep's result, "string", operation.output_type)
"""

from __future__ import annotations

import abc
import re
import threading
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from lxml import etree
from zeep.xsd import AnySimpleType, ComplexType, Element, Sequence
from zeep.xsd.elements import All, Attribute
from zeep.xsd.types import builtins

from facade.errors import BackendUnexpectedResponse
from facade.soap.operations import SoapOperation
from facade.soap.zeep_private import (
    complex_particle,
    flat_elements,
    nested_particles,
    single_document_body,
    soapenc_array_attribute,
)
from facade.translate.response import (
    DecimalStyle,
    _decimal,
    _empty,
    bounded_integer,
    integer_range,
    to_json,
)
from facade.types import JSON

Convert = Callable[[str], JSON]


class Unsupported(Exception):
    """The operation's output schema has a construct the reader does not read; the
    message names it."""


class Declined(Exception):
    """This reply has something the reader does not read as zeep would."""


EarlyReads = dict[etree._Element, JSON]
"""Elements read while the reply was still being parsed, then emptied, with their JSON
(`ReplyReader.read_early`)."""


class ReplyReader:
    """Reads one operation's reply body into the JSON of the zeep path."""

    def __init__(
        self, tag: str, element: _ElementReader, early_tags: dict[str, _ElementReader]
    ) -> None:
        self.tag = tag
        self.element = element
        self.early_tags = early_tags
        """The tags of repeated complex members whose every member of that tag has the same
        type: an element of such a tag is read the same by whichever member meets it (a
        member meets only elements of its own tag), so it can be read as soon as the
        parser has it whole."""

    def read_body(self, body: etree._Element, early: EarlyReads | None = None) -> JSON:
        """The JSON of the reply's soap:Body (zeep reads its first child), or Declined.
        `early`: the elements `read_early` read and emptied during the parse."""
        if not len(body):
            raise Declined("empty body")
        first = body[0]
        if first.tag != self.tag:
            raise Declined(f"body element {first.tag!r}")
        early = _NO_EARLY if early is None else early
        if first in early:
            raise Declined("the body element was read as a member")
        if _has_xsi_type(first):
            raise Declined("xsi:type")  # zeep reads the element by the type it names
        try:
            return self.element.read_top(first, early)
        except _UNREADABLE as exc:
            raise Declined(f"unreadable value: {type(exc).__name__}") from exc

    def read_early(self, node: etree._Element, early: EarlyReads) -> None:
        """Read an element of `early_tags` the parser has just finished, note its JSON in
        `early` and empty it: the reply's tree then never holds all its records at once.

        It is read exactly as any member that meets it in the tree would read it, and
        `read_body` takes the value where one does. The caller checks the element for
        xsi:type first, which `read_body` no longer sees once it is emptied. Declined when
        the element cannot be read."""
        try:
            early[node] = self.early_tags[node.tag].read(node, early)
        except _UNREADABLE as exc:
            raise Declined(f"unreadable value: {type(exc).__name__}") from exc
        node.clear(keep_tail=False)  # no reader reads a tail: whitespace between records


def has_xsi_type(node: etree._Element) -> bool:
    """Whether `node` or an element below it carries xsi:type, which the reader declines."""
    return _has_xsi_type(node)


def _has_xsi_type(node: etree._Element) -> bool:
    """Any xsi:type in the reply, in one pass of libxml2."""
    return bool(_xsi_type_finders.find(node))


class _XsiTypeFinder(threading.local):
    """The XPath compiled once per thread: a compiled XPath must not be shared by threads,
    and compiling it for every reply cost more than running it on a small one."""

    def __init__(self) -> None:
        self.find = etree.XPath("boolean(descendant-or-self::*/@xsi:type)", namespaces=_XSI)


_NO_EARLY: EarlyReads = {}  # only ever looked into
_NOT_EARLY: Any = object()
_XSI = {"xsi": "http://www.w3.org/2001/XMLSchema-instance"}
_xsi_type_finders = _XsiTypeFinder()
_UNREADABLE = (ValueError, TypeError, ArithmeticError, LookupError, RecursionError)
"""What reading a value raises (isodate's errors are ValueErrors), or a nesting deeper than
the stack; zeep reads the reply again and reports it its own way."""


def compile_reader(operation: SoapOperation, decimals: DecimalStyle) -> ReplyReader:
    """The operation's reader, or Unsupported saying what the reader cannot read."""
    body = single_document_body(operation.zeep_operation.output, Unsupported, "reply")
    if not isinstance(body, Element):
        raise Unsupported("the reply body is not an element")
    compiler = _Compiler(decimals)
    top = compiler.element(body)
    return ReplyReader(body.qname.text, top, compiler.early_tags())


# --- reading -------------------------------------------------------------------------------
#
# What zeep's lenient parse ignores is ignored here too, which gives the same answer: text
# between the children of a complex element (mixed content), children of a simple one
# (zeep reads the text before them), attributes the type does not declare, and the elements
# from the first one no member matches on (zeep keeps them aside as `_raw_elements`, which
# `to_json` leaves out; legacy backends add fields without telling their WSDL). Comments and
# processing instructions never reach here: the facade's parser drops them.


class _TypeReader(abc.ABC):
    """Reads an element's content by its type; `empty()` is the JSON of zeep's None."""

    @abc.abstractmethod
    def read(self, node: etree._Element, allow_none: bool, early: EarlyReads) -> JSON: ...

    def empty(self) -> JSON:
        return None


class _SimpleReader(_TypeReader):
    __slots__ = ("convert",)

    def __init__(self, convert: Convert) -> None:
        self.convert = convert

    def read(self, node: etree._Element, allow_none: bool, early: EarlyReads) -> JSON:
        text = node.text
        return None if text is None else self.convert(text)


class _ElementReader:
    """One element particle: its tag, name, occurrences and the reader of its type;
    `convert` is set for a simple type, which is read inline."""

    __slots__ = (
        *("tag", "name", "multiple", "min", "max", "required", "type", "default", "convert"),
        "empty_is_zeeps",
    )

    def __init__(self, name: str, element: Any, reader: _TypeReader) -> None:
        self.tag: str = element.qname.text
        self.name = name
        self.multiple = element.max_occurs != 1
        self.min: int = element.min_occurs
        self.max: int | None = None if element.max_occurs == "unbounded" else element.max_occurs
        self.required = element.min_occurs != 0
        self.type = reader
        self.default = None if element.default is None else to_json(element.default)
        self.convert = reader.convert if isinstance(reader, _SimpleReader) else None
        # a simple element present but empty where it must hold a value (required, or an
        # item of a list; not nillable): the zeep path answers "" or a 502 by its type
        self.empty_is_zeeps = (
            self.convert is not None
            and (self.multiple or self.required)
            and not getattr(element, "nillable", False)
        )

    def text(self, node: etree._Element, convert: Convert) -> JSON:
        """A simple element's value; its empty form where zeep's path decides."""
        text = node.text
        if text is not None:
            return convert(text)
        if self.empty_is_zeeps:
            raise Declined(f"{self.name} is empty")
        return None

    def read(self, node: etree._Element, early: EarlyReads) -> JSON:
        convert = self.convert
        if convert is not None:
            return self.text(node, convert)
        if early:
            found = early.pop(node, _NOT_EARLY)
            if found is not _NOT_EARLY:
                return found  # read as the parser finished it, by this same type
        value = self.type.read(node, True, early)
        return self.type.empty() if value is None else value

    def read_top(self, node: etree._Element, early: EarlyReads) -> JSON:
        """The body element: zeep reads it with allow_none=False."""
        value = self.type.read(node, False, early)
        return self.type.empty() if value is None else value

    def absent(self) -> JSON:
        """What zeep's default value for this element becomes (all children absent)."""
        if self.multiple:
            return []
        if self.required and self.default is not None:
            return self.default
        if self.empty_is_zeeps:  # a required simple value left out: zeep's path decides
            raise Declined(f"{self.name} is missing")
        return self.type.empty()


class _AttributeReader:
    __slots__ = ("key", "name", "convert", "default")

    def __init__(self, name: str, attribute: Any, convert: Convert, decimals: DecimalStyle):
        self.key: str = attribute.qname.text
        self.name = name
        self.convert = convert
        self.default = to_json(attribute.default_value, decimals)


class _ComplexReader(_TypeReader):
    """A complex type: a sequence or all of elements, or simple content, plus attributes."""

    def __init__(self, xsd_type: Any) -> None:
        self.fields: tuple[_ElementReader, ...] = ()
        self.by_tag: dict[str, _ElementReader] = {}
        self.localnames: frozenset[str] = frozenset()
        self.ordered = True  # sequence; False for xs:all
        self.attributes: tuple[_AttributeReader, ...] = ()
        self.content: _SimpleReader | None = None  # simple content
        self.content_name = ""
        self.nothing = False  # no elements and no attributes: zeep reads None
        self.wrapped = ""  # the one repeated child of a list wrapper: zeep's None is {it: []}
        empty = _empty(xsd_type)
        if isinstance(empty, dict):
            (self.wrapped,) = empty

    def empty(self) -> JSON:
        return {self.wrapped: []} if self.wrapped else None

    def read(self, node: etree._Element, allow_none: bool, early: EarlyReads) -> JSON:
        if self.nothing:
            return None
        if self.content is not None:
            value = self.content.read(node, True, early)
            if value is None:  # empty simple content: "" or a 502 on zeep's path, by type
                raise Declined(f"{self.content_name} is empty")
            result = {self.content_name: value}
        else:
            children = list(node)
            if not children:
                if allow_none and not len(node.attrib):
                    return None
                result = {f.name: f.absent() for f in self.fields}
            elif self.ordered:
                result = self._sequence(children, early)
            else:
                result = self._all(children, early)
        if self.attributes:
            self._attributes(node, result)
        return result

    def _attributes(self, node: etree._Element, result: dict[str, JSON]) -> None:
        get = node.get
        for attribute in self.attributes:
            text = get(attribute.key)
            result[attribute.name] = attribute.default if text is None else attribute.convert(text)

    def _sequence(self, children: list[etree._Element], early: EarlyReads) -> dict[str, JSON]:
        result: dict[str, JSON] = {}
        count = len(children)
        i = 0
        for field in self.fields:
            tag = field.tag
            if field.multiple:
                items = []
                while i < count and children[i].tag == tag:
                    items.append(field.read(children[i], early))
                    i += 1
                if len(items) < field.min or (field.max is not None and len(items) > field.max):
                    raise Declined(f"{field.name}: {len(items)} occurrences")
                result[field.name] = items
            elif i < count and children[i].tag == tag:
                convert = field.convert  # a simple value, read here: the common case
                if convert is None:
                    result[field.name] = field.read(children[i], early)
                else:
                    text = children[i].text
                    if text is None:
                        result[field.name] = field.text(children[i], convert)
                    else:
                        result[field.name] = convert(text)
                i += 1
            elif field.required:
                raise Declined(f"{field.name} is missing")
            else:
                result[field.name] = field.type.empty()
        if i < count and etree.QName(children[i]).localname in self.localnames:
            # zeep matches by local name alone: it may have read this one as a member
            raise Declined(f"unexpected element {children[i].tag!r}")
        return result  # the rest are elements zeep sets aside (strict=False), unread

    def _all(self, children: list[etree._Element], early: EarlyReads) -> dict[str, JSON]:
        found: dict[str, etree._Element] = {}
        for child in children:
            if child.tag in found:
                raise Declined(f"repeated element {child.tag!r}")
            if child.tag in self.by_tag:
                found[child.tag] = child  # others: zeep sets them aside, unread
        result: dict[str, JSON] = {}
        for field in self.fields:
            child = found.get(field.tag)
            if child is not None:
                result[field.name] = field.read(child, early)
            elif field.required:
                raise Declined(f"{field.name} is missing")
            else:
                result[field.name] = field.type.empty()
        return result


# --- compiling -----------------------------------------------------------------------------


class _Compiler:
    def __init__(self, decimals: DecimalStyle) -> None:
        self.decimals = decimals
        self.complex: dict[int, _ComplexReader] = {}

    def early_tags(self) -> dict[str, _ElementReader]:
        """The tags that may be read early: those of repeated complex members whose every
        member of that tag, in every type, is read by the same complex type's reader (so an
        element of that tag is read the same whichever member meets it)."""
        members: dict[str, list[_ElementReader]] = {}
        for reader in self.complex.values():
            for field in reader.fields:
                members.setdefault(field.tag, []).append(field)
        early = {}
        for tag, fields in members.items():
            first = fields[0]
            alike = all(f.convert is None and f.type is first.type for f in fields)
            if alike and any(f.multiple for f in fields) and _holds_members(first.type):
                early[tag] = first
        return early

    def element(self, element: Any, name: str | None = None) -> _ElementReader:
        if not isinstance(element, Element) or isinstance(element, Attribute):
            raise Unsupported(f"{type(element).__name__} particle")
        return _ElementReader(name or element.attr_name, element, self.type(element.type))

    def type(self, xsd_type: Any) -> _TypeReader:
        if isinstance(xsd_type, ComplexType):
            return self.complex_type(xsd_type)
        if isinstance(xsd_type, AnySimpleType):
            return _SimpleReader(self.simple(xsd_type, typed=True))
        raise Unsupported(f"type {type(xsd_type).__name__}")

    def simple(self, xsd_type: Any, *, typed: bool) -> Convert:
        if type(xsd_type).parse_xmlelement is not AnySimpleType.parse_xmlelement:
            raise Unsupported(f"simple type {type(xsd_type).__name__}")
        return simple_converter(xsd_type, self.decimals, typed=typed)

    def complex_type(self, xsd_type: Any) -> _ComplexReader:
        known = self.complex.get(id(xsd_type))
        if known is not None:
            return known  # recursive types: the reader being compiled
        reader = _ComplexReader(xsd_type)
        self.complex[id(xsd_type)] = reader
        if soapenc_array_attribute(xsd_type) is not None:
            raise Unsupported("soap-enc array")
        particle = complex_particle(xsd_type)
        if not xsd_type.elements and not xsd_type.attributes:
            reader.nothing = True  # zeep reads such a type as None, whatever the reply holds
            return reader
        if isinstance(particle, Element):
            if not isinstance(particle.type, AnySimpleType):
                raise Unsupported("complex content of one element")
            reader.content_name = str(nested_particles(xsd_type)[0][0])
            reader.content = _SimpleReader(self.simple(particle.type, typed=True))
        elif particle is not None:
            self._particles(reader, particle)
        reader.attributes = tuple(self._attributes(xsd_type))
        names = [f.name for f in reader.fields] + [a.name for a in reader.attributes]
        if reader.content is not None:
            names.append(reader.content_name)
        if len(set(names)) != len(names):
            raise Unsupported("repeated member names")
        return reader

    def _particles(self, reader: _ComplexReader, particle: Any) -> None:
        if type(particle) not in (Sequence, All) or particle.max_occurs != 1:
            raise Unsupported(f"{type(particle).__name__} content")
        reader.ordered = type(particle) is Sequence
        elements = (
            flat_elements(particle, Unsupported) if reader.ordered else _all_elements(particle)
        )
        if [name for name, _ in elements] != [name for name, _ in particle.elements]:
            raise Unsupported("generated member names")
        reader.fields = tuple(self.element(element, name) for name, element in elements)
        reader.by_tag = {f.tag: f for f in reader.fields}
        reader.localnames = frozenset(etree.QName(f.tag).localname for f in reader.fields)
        if len(reader.by_tag) != len(reader.fields):
            raise Unsupported("an element name used twice")
        if not reader.ordered and any(f.multiple for f in reader.fields):
            raise Unsupported("repeated element in xs:all")

    def _attributes(self, xsd_type: Any) -> list[_AttributeReader]:
        readers = []
        for name, attribute in xsd_type.attributes:
            if not isinstance(attribute, Attribute) or attribute.name is None:
                raise Unsupported("xs:anyAttribute")
            if not isinstance(attribute.type, AnySimpleType):
                raise Unsupported("attribute of a complex type")
            convert = simple_converter(attribute.type, self.decimals, typed=False)
            readers.append(_AttributeReader(name, attribute, convert, self.decimals))
        return readers


def _holds_members(reader: _TypeReader) -> bool:
    """A complex type with member elements: a tree worth emptying once read."""
    return isinstance(reader, _ComplexReader) and bool(reader.fields)


def _all_elements(particle: Any) -> list[tuple[str, Any]]:
    result: list[tuple[str, Any]] = []
    for name, child in nested_particles(particle):
        if not isinstance(child, Element):
            raise Unsupported(f"{type(child).__name__} in xs:all")
        result.append((str(name), child))
    return result


# --- simple values -------------------------------------------------------------------------

_TEXT = frozenset(
    {
        builtins.String.pythonvalue,
        builtins.NormalizedString.pythonvalue,
        builtins.Token.pythonvalue,
        builtins.AnyURI.pythonvalue,
        builtins.QName.pythonvalue,
        builtins.HexBinary.pythonvalue,
    }
)
_INTEGER = frozenset({builtins.Integer.pythonvalue, builtins.Long.pythonvalue})
REMEMBERED_VALUES = 256
"""Dates remembered per xs:date member of a reader, for its lifetime: the first ones seen
(a few dozen kilobytes at most each; the dates of one reply's records repeat)."""
_BOOLEAN = re.compile(r"(true|false|1|0)\Z")
_BOOLEAN_TRUE = frozenset({"true", "1"})
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)\Z", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z", re.ASCII)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})?\Z", re.ASCII
)


def simple_converter(xsd_type: Any, decimals: DecimalStyle, *, typed: bool) -> Convert:
    """Text -> the JSON `to_json` makes of zeep's value for it.

    zeep's own `pythonvalue` reads the text, except where the answer is plainly the same
    without it: text types are the text, integers `int(text)`; booleans, decimals, dates
    and times in their plain lexical form (no whitespace to collapse) are read directly.
    `typed` is False for attributes, which `to_json` reads without their type."""
    parse = xsd_type.pythonvalue
    method = type(xsd_type).pythonvalue
    if method in _TEXT:
        return str
    hint = xsd_type if typed else None
    if method in _INTEGER:  # zeep's own int(text), checked against the type's range
        low, high = integer_range(hint)
        return partial(_integer, low=low, high=high)

    def generic(text: str) -> JSON:
        return to_json(parse(text), decimals, hint)

    if method is builtins.Boolean.pythonvalue:
        return _fast(_BOOLEAN, _BOOLEAN_TRUE.__contains__, generic)
    if method is builtins.Decimal.pythonvalue:
        return _fast(_DECIMAL, lambda text: _decimal(Decimal(text), decimals), generic)
    if method is builtins.Date.pythonvalue:
        return _remembered(_fast(_DATE, _plain_date, generic))
    if method is builtins.DateTime.pythonvalue:
        return _fast(_DATETIME, _plain_datetime, generic)
    return generic


def _integer(text: str, low: int | None, high: int | None) -> JSON:
    """The integer as the zeep path answers it, with its type's range looked up once, when
    compiling; out of that range the zeep path answers a 502, so this reply is left to it."""
    try:
        return bounded_integer(int(text), low, high)
    except BackendUnexpectedResponse:
        raise Declined(f"{text!r} is outside its type's range") from None


def _fast(pattern: re.Pattern[str], fast: Convert, slow: Convert) -> Convert:
    def convert(text: str) -> JSON:
        if pattern.match(text):
            try:
                return fast(text)
            except ValueError:
                pass
        return slow(text)

    return convert


def _remembered(convert: Convert) -> Convert:
    """`convert` with its first answers kept: dates repeat across the records of a reply."""
    known: dict[str, JSON] = {}

    def remembered(text: str) -> JSON:
        value = known.get(text)
        if value is None:
            value = convert(text)
            if len(known) < REMEMBERED_VALUES:
                known[text] = value
        return value

    return remembered


def _plain_date(text: str) -> str:
    return date.fromisoformat(text).isoformat()


def _plain_datetime(text: str) -> str:
    return datetime.fromisoformat(text).isoformat()
