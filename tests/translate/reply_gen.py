"""Replies generated from an operation's output schema, for comparing the two reply paths.

Built from zeep's parsed types, not from the compiled reader's view of them: every element,
choice branch, attribute, repetition and simple type zeep knows can appear, with valid
values mostly and, now and then, what a sloppy backend sends (a junk value, an undeclared
element, an xsi:type, whitespace around a value, a missing required element).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from lxml import etree
from zeep.xsd import AnySimpleType, Choice, ComplexType, Element, Group, Sequence
from zeep.xsd.elements import All, Attribute
from zeep.xsd.elements import Any as AnyParticle

from facade.soap.zeep_private import complex_particle
from facade.xsdtypes import INTEGER_RANGES, builtin_name

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_DEPTH = 4
MAX_REPEAT = 3

_DATES = st.dates().map(lambda d: d.isoformat())
_OFFSETS = st.sampled_from(["", "Z", "+00:00", "-00:00", "+05:30", "-08:00", "+14:00"])
_FRACTIONS = st.sampled_from(["", ".0", ".25", ".123456", ".1234567", ".5"])
_TIMES = st.times().map(lambda t: t.strftime("%H:%M:%S"))
_DATETIMES = st.builds(lambda d, t, f, o: f"{d}T{t}{f}{o}", _DATES, _TIMES, _FRACTIONS, _OFFSETS)
_DECIMALS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(lambda d: format(d, "f")),
    st.sampled_from(["0", "-0.0", "1.", ".5", "+3.10", "1E3", "00012.500"]),
)
_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["INF", "-INF", "NaN", "1e3", "-0", "3.5"]),
)
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=12,
)
_JUNK = st.sampled_from(["", "lots", "1.5.5", "--", "true ", " 12 ", "\n7\t", "2024-13-45", "x"])

VALUES: dict[str, st.SearchStrategy[str]] = {
    "boolean": st.sampled_from(["true", "false", "1", "0", " true", "TRUE"]),
    "decimal": _DECIMALS,
    "float": _FLOATS,
    "double": _FLOATS,
    "date": st.one_of(_DATES, st.sampled_from(["2024-01-15Z", "2024-01-15+02:00"])),
    "dateTime": st.one_of(_DATETIMES, st.sampled_from(["2024-01-15", "2024-01-15 10:30:00"])),
    "time": st.builds(lambda t, f, o: f"{t}{f}{o}", _TIMES, _FRACTIONS, _OFFSETS),
    "duration": st.sampled_from(["P1D", "PT1H30M", "P1Y2M3DT4H5M6S", "-P1D", "PT-5M"]),
    "base64Binary": st.binary(max_size=8).map(lambda b: __import__("base64").b64encode(b).decode()),
    "hexBinary": st.binary(max_size=8).map(bytes.hex),
    "gYear": st.sampled_from(["2024", "1999Z", "2001+02:00"]),
    "gYearMonth": st.sampled_from(["2024-05", "1999-12Z"]),
    "gMonthDay": st.sampled_from(["--05-17", "--12-31Z"]),
    "gDay": st.sampled_from(["---05", "---31Z"]),
    "gMonth": st.sampled_from(["--05", "--12Z"]),
}


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in `one_in` draws (hypothesis favours 0 and the bounds, so the
    middle value is the rare one)."""
    return draw(st.integers(0, one_in - 1)) == one_in // 2


def integer_values(base: str) -> st.SearchStrategy[str]:
    low, high = INTEGER_RANGES[base]
    return st.integers(low, high).map(str)


def simple_value(draw: st.DrawFn, xsd_type: Any, enumerations: Any) -> str:
    """A lexical value of `xsd_type`, sometimes a junk one."""
    if rarely(draw, 60):
        return draw(_JUNK)
    allowed = enumerations(xsd_type) if enumerations else ()
    if allowed and draw(st.booleans()):
        return str(draw(st.sampled_from(allowed)))
    base = builtin_name(xsd_type)
    if base in INTEGER_RANGES:
        return draw(integer_values(base))
    return draw(VALUES.get(base, _TEXT))


@st.composite
def reply_body(draw: st.DrawFn, element: Any, enumerations: Any = None) -> etree._Element:
    """A soap:Body holding one generated reply element for `element`."""
    envelope = etree.Element(f"{{{SOAP11_ENV}}}Envelope", nsmap={"soap": SOAP11_ENV, "xsi": XSI})
    body = etree.SubElement(envelope, f"{{{SOAP11_ENV}}}Body")
    body.append(_element_node(draw, element, enumerations, 0))
    return body


def _element_node(draw: st.DrawFn, element: Any, enumerations: Any, depth: int) -> etree._Element:
    node = etree.Element(element.qname.text)
    _fill(draw, node, element, enumerations, depth)
    return node


def _fill(
    draw: st.DrawFn, node: etree._Element, element: Any, enumerations: Any, depth: int
) -> None:
    if rarely(draw, 60):
        node.set(f"{{{XSI}}}type", "xs:string")
    if getattr(element, "nillable", False) and rarely(draw, 5):
        node.set(f"{{{XSI}}}nil", "true")
        return
    xsd_type = element.type
    if isinstance(xsd_type, ComplexType):
        _complex(draw, node, xsd_type, enumerations, depth)
    elif isinstance(xsd_type, AnySimpleType):
        if draw(st.integers(0, 9)) or not element.is_optional:
            node.text = simple_value(draw, xsd_type, enumerations)
    else:
        node.text = draw(_TEXT)


def _complex(
    draw: st.DrawFn, node: etree._Element, xsd_type: Any, enumerations: Any, depth: int
) -> None:
    particle = complex_particle(xsd_type)
    if isinstance(particle, Element) and isinstance(particle.type, AnySimpleType):
        if draw(st.integers(0, 9)):
            node.text = simple_value(draw, particle.type, enumerations)
    elif particle is not None:
        for child in _particle(draw, particle, enumerations, depth):
            node.append(child)
    for _name, attribute in xsd_type.attributes:
        if isinstance(attribute, Attribute) and attribute.name and draw(st.booleans()):
            if isinstance(attribute.type, AnySimpleType):
                node.set(attribute.qname.text, simple_value(draw, attribute.type, enumerations))
    if rarely(draw, 20):
        extra = draw(st.sampled_from(["{urn:undeclared}Extra", "{urn:undeclared}Id", "Id"]))
        node.insert(draw(st.integers(0, len(node))), etree.Element(extra))


def _count(draw: st.DrawFn, particle: Any, depth: int) -> int:
    low = particle.min_occurs
    high = (
        MAX_REPEAT if particle.max_occurs == "unbounded" else min(particle.max_occurs, MAX_REPEAT)
    )
    if depth >= MAX_DEPTH * 2:
        return 0  # a required recursion with no end stops here (the reply is then refused)
    if depth >= MAX_DEPTH:
        high = low
    if low and rarely(draw, 80):
        return low - 1  # a required element missing
    return draw(st.integers(min(low, high), max(low, high)))


def _particle(
    draw: st.DrawFn, particle: Any, enumerations: Any, depth: int
) -> list[etree._Element]:
    nodes: list[etree._Element] = []
    for _ in range(_count(draw, particle, depth)):
        if isinstance(particle, Element):
            nodes.append(_element_node(draw, particle, enumerations, depth + 1))
        elif isinstance(particle, AnyParticle):
            nodes.append(etree.Element("{urn:any}Thing"))
        elif isinstance(particle, Choice):
            options = list(particle)
            if options:
                nodes.extend(_particle(draw, draw(st.sampled_from(options)), enumerations, depth))
        elif isinstance(particle, Group):
            nodes.extend(_particle(draw, particle.child, enumerations, depth))
        elif isinstance(particle, All):
            children = list(particle)
            for child in draw(st.permutations(children)) if draw(st.booleans()) else children:
                nodes.extend(_particle(draw, child, enumerations, depth))
        elif isinstance(particle, Sequence):
            for child in particle:
                nodes.extend(_particle(draw, child, enumerations, depth))
    return nodes
