"""Read SOAP 1.1 and 1.2 faults, and choose the HTTP status the mapping wants for them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from facade.translate.xml import add_child_json

SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"

CLIENT_FAULT_STATUS = 400
SERVER_FAULT_STATUS = 502
_CLIENT_CODES = frozenset({"Client", "Sender"})


@dataclass(frozen=True)
class Fault:
    """A SOAP fault in plain values; `detail` is JSON (None when the fault has none)."""

    code: str
    """Local part of the fault code, e.g. `Client`, `Server`, `Sender`, `Receiver`."""
    message: str
    detail: Any
    subcodes: tuple[str, ...] = ()

    @property
    def detail_names(self) -> tuple[str, ...]:
        """Local names of the detail's top-level elements, e.g. ('CustomerNotFound',)."""
        return tuple(self.detail) if isinstance(self.detail, dict) else ()


ElementReader = Callable[[etree._Element], Any]
"""Reads one detail element as typed JSON, or answers None when its schema is unknown."""


def _untyped(element: etree._Element) -> Any:
    return None


def find_fault(envelope: etree._Element, typed: ElementReader = _untyped) -> Fault | None:
    """The fault in `envelope`'s body, or None when the body holds none.

    Detail elements the WSDL declares are read by `typed` (numbers stay numbers); others
    follow xmltodict's rules.
    """
    env_ns = etree.QName(envelope).namespace
    body = envelope_body(envelope, env_ns)
    return None if body is None else fault_in_body(body, env_ns, typed)


def envelope_body(envelope: etree._Element, env_ns: str | None) -> etree._Element | None:
    """The envelope's first `Body` child in its own namespace, None without one."""
    return _tagged_child(envelope, _BODY_TAGS.get(env_ns) or f"{{{env_ns}}}Body")


def fault_in_body(
    body: etree._Element, env_ns: str | None, typed: ElementReader = _untyped
) -> Fault | None:
    """The fault a `soap:Body` holds (a `Fault` child in the envelope's namespace), or None."""
    fault = _tagged_child(body, _FAULT_TAGS.get(env_ns) or f"{{{env_ns}}}Fault")
    if fault is None:
        return None
    if env_ns == SOAP12_ENV:
        return _soap12_fault(fault, typed)
    return _soap11_fault(fault, typed)


_BODY_TAGS: dict[str | None, str] = {ns: f"{{{ns}}}Body" for ns in (SOAP11_ENV, SOAP12_ENV)}
_FAULT_TAGS: dict[str | None, str] = {ns: f"{{{ns}}}Fault" for ns in (SOAP11_ENV, SOAP12_ENV)}
"""Tags made once rather than per reply."""


def _tagged_child(parent: etree._Element, tag: str) -> etree._Element | None:
    """What `parent.find(tag)` answers, without parsing a path on every reply."""
    for child in parent:
        if child.tag == tag:
            return child
    return None


def fault_status(fault: Fault, faults: Mapping[str, int]) -> int:
    """The mapping's status for a detail element name, subcode or fault code, else a default."""
    mapped = mapped_status(fault, faults)
    if mapped is not None:
        return mapped
    # SOAP 1.1 refines codes with dots: `Client.Authentication` is still the client's fault
    kind = fault.code.partition(".")[0]
    return CLIENT_FAULT_STATUS if kind in _CLIENT_CODES else SERVER_FAULT_STATUS


def mapped_status(fault: Fault, faults: Mapping[str, int]) -> int | None:
    """The status the mapping gives this fault, or None when the mapping does not name it.

    Names are tried from the most specific: detail elements, then the codes (`_codes`).
    """
    for key in (*fault.detail_names, *_codes(fault)):
        if key in faults:
            return faults[key]
    return None


def _codes(fault: Fault) -> tuple[str, ...]:
    """The fault's code names, most specific first.

    A dotted SOAP 1.1 code such as `Client.CustomerNotFound.Archived` is tried whole, then
    its refinements from the last (`Archived`, `CustomerNotFound`): they are what SOAP 1.2
    says with subcodes, which follow, innermost first; the base code (`Client`) comes last.
    """
    base, *refinements = fault.code.split(".")
    whole = (fault.code,) if refinements else ()
    return (*whole, *reversed(refinements), *reversed(fault.subcodes), base)


def _soap11_fault(node: etree._Element, typed: ElementReader) -> Fault:
    # SOAP 1.1 fault children are unqualified, but some servers qualify them anyway.
    return Fault(
        code=_local_code(_child_text(node, "faultcode")),
        message=_child_text(node, "faultstring"),
        detail=_detail_json(_child(node, "detail"), typed),
    )


def _soap12_fault(node: etree._Element, typed: ElementReader) -> Fault:
    ns = SOAP12_ENV
    subcodes: list[str] = []
    subcode = node.find(f"{{{ns}}}Code/{{{ns}}}Subcode")
    while subcode is not None:
        subcodes.append(_local_code(subcode.findtext(f"{{{ns}}}Value") or ""))
        subcode = subcode.find(f"{{{ns}}}Subcode")
    return Fault(
        code=_local_code(node.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or ""),
        message=(node.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or "").strip(),
        detail=_detail_json(node.find(f"{{{ns}}}Detail"), typed),
        subcodes=tuple(subcodes),
    )


def _child(node: etree._Element, name: str) -> etree._Element | None:
    return next(
        (c for c in node if isinstance(c.tag, str) and etree.QName(c).localname == name), None
    )


def _child_text(node: etree._Element, name: str) -> str:
    child = _child(node, name)
    return (child.text or "").strip() if child is not None else ""


def _local_code(code: str) -> str:
    """`soap:Client` -> `Client`; dotted 1.1 codes such as `Client.Auth` keep their dots."""
    return code.strip().rpartition(":")[2]


def _detail_json(detail: etree._Element | None, typed: ElementReader) -> Any:
    """The detail's children as JSON, typed where the schema declares them."""
    if detail is None or (len(detail) == 0 and not (detail.text or "").strip()):
        return None
    if len(detail) == 0:
        return (detail.text or "").strip()
    children = [child for child in detail if isinstance(child.tag, str)]
    names = Counter(etree.QName(child).localname for child in children)
    result: dict[str, Any] = {}
    for child in children:
        name = etree.QName(child).localname
        if names[name] == 1:  # a repeated name stays an array of untyped values
            value = typed(child)
            if value is not None:
                result[name] = value
                continue
        add_child_json(result, child)  # schema-less: xmltodict's rules, only where needed
    return result
