"""Turn arguments into a SOAP request, and a raw HTTP reply into a typed result or an error.

Values reach the envelope only through zeep's serializer, never through string templates,
so `</Name><Admin>` in a JSON string stays text. Replies are classified before zeep sees
them, so that each way a legacy backend misbehaves gets its own problem type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from lxml import etree
from zeep.exceptions import Error as ZeepError

from facade.errors import (
    BackendEmptyResponse,
    BackendError,
    BackendHtmlResponse,
    BackendMalformedXml,
    BackendNotSoap,
    BackendUnexpectedResponse,
    FieldProblem,
    InvalidRequest,
)
from facade.net.seam import Reply
from facade.soap.faults import (
    SOAP11_ENV,
    SOAP12_ENV,
    ElementReader,
    Fault,
    envelope_body,
    fault_in_body,
)
from facade.soap.operations import SoapOperation
from facade.soap.security import EnvelopeSigner
from facade.soap.writer import Declined, RequestWriter
from facade.soap.zeep_private import UNREADABLE_VALUE_LOGGER, create_envelope, deserialize_body
from facade.translate.response import to_json
from facade.translate.xml import UnsafeXml, parse_xml

ENVELOPE_NAMESPACES = frozenset({SOAP11_ENV, SOAP12_ENV})
_ENVELOPE_TAGS = {f"{{{ns}}}Envelope": ns for ns in ENVELOPE_NAMESPACES}


@dataclass(frozen=True)
class SoapRequest:
    """An HTTP POST ready to send: where, what, and with which headers."""

    url: str
    content: bytes
    headers: Mapping[str, str]


class FaultReply(Exception):
    """The backend answered with a SOAP fault; the caller decides its HTTP status."""

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        super().__init__(fault.message)


def build_request(
    operation: SoapOperation,
    arguments: Mapping[str, Any],
    url: str,
    *,
    soap_headers: Sequence[etree._Element] = (),
    signer: EnvelopeSigner | None = None,
    writer: RequestWriter | None = None,
) -> SoapRequest:
    """Serialize `arguments` into an envelope for `operation`, with SOAPAction/Content-Type,
    the given SOAP header elements, and the signer's WS-Security header.

    The operation's compiled `writer` writes the envelope when it can (the same bytes as
    zeep); zeep writes what it declines, and requests with SOAP header elements."""
    if writer is not None and not soap_headers:
        try:
            content, headers = writer.write(arguments)
        except Declined:
            pass
        else:
            if signer is None:
                return SoapRequest(url=url, content=content, headers=headers)
            envelope, headers = signer.apply(parse_xml(content), headers)
            return SoapRequest(url=url, content=_serialized(envelope), headers=headers)
    if operation.positional:
        args: tuple[Any, ...] = tuple(arguments.values())[:1]
        kwargs: dict[str, Any] = {}
    else:
        args, kwargs = (), dict(arguments)
    if soap_headers:
        kwargs["_soapheaders"] = list(soap_headers)
    try:
        envelope, headers = create_envelope(
            operation.binding, operation.name, args, kwargs, client=operation.client, address=url
        )
    except (TypeError, ValueError, ZeepError) as exc:
        # zeep's message here is about the request's own shape against the schema.
        raise InvalidRequest([FieldProblem("body", _zeep_message(exc))]) from exc
    if signer is not None:
        envelope, headers = signer.apply(envelope, headers)
    return SoapRequest(url=url, content=_serialized(envelope), headers=headers)


def _serialized(envelope: etree._Element) -> bytes:
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def read_reply(operation: SoapOperation, reply: Reply) -> Any:
    """The operation's result (zeep values), or a BackendError, or FaultReply."""
    body = reply_body(operation, reply)
    if body is None:
        return None
    return deserialize_reply_body(operation, body, reply.status)


Parse = Callable[[bytes], etree._Element]


def reply_body(
    operation: SoapOperation, reply: Reply, parse: Parse = parse_xml
) -> etree._Element | None:
    """The `soap:Body` of a reply that is neither a fault nor an error, or a BackendError,
    or FaultReply; None when the reply or the operation has no body. `parse` is
    `parse_xml`, or one with its errors that reads parts of the reply as it parses."""
    envelope, env_ns = _envelope(reply, parse)
    body = envelope_body(envelope, env_ns)  # looked up once, for the fault and the answer
    if body is not None:
        fault = fault_in_body(body, env_ns, _declared_element_reader(operation))
        if fault is not None:
            raise FaultReply(fault)
    if reply.status != 200:
        raise BackendError(f"The backend answered HTTP {reply.status} without a SOAP fault")
    if body is None:  # an envelope must have one (SOAP 1.1 section 4, 1.2 part 1 5.1)
        raise BackendNotSoap(http_status=reply.status)
    if operation.zeep_operation.output.body is None:
        return None
    return body


def deserialize_reply_body(operation: SoapOperation, body: etree._Element, status: int) -> Any:
    """A reply's `soap:Body` read by zeep into its values, or BackendUnexpectedResponse."""
    token = _unreadable.set([])
    try:
        result = deserialize_body(operation.zeep_operation.output, body)
        unreadable = _unreadable.get()
    except (ZeepError, ValueError, TypeError, LookupError, ArithmeticError) as exc:
        # ArithmeticError: decimal.InvalidOperation for <Balance>lots</Balance>
        raise BackendUnexpectedResponse(http_status=status) from exc
    finally:
        _unreadable.reset(token)
    if unreadable:
        # the reply would silently lose a value: refuse it rather than answer null
        raise BackendUnexpectedResponse(http_status=status)
    return result


_unreadable: ContextVar[list[logging.LogRecord] | None] = ContextVar("unreadable", default=None)


class _UnreadableValues(logging.Handler):
    """zeep logs a reply value it cannot read (`<Id>one</Id>` for an int) and reads it as
    None; this handler notes the record so the reply being read can be refused."""

    def emit(self, record: logging.LogRecord) -> None:
        noted = _unreadable.get()
        if noted is not None:
            noted.append(record)


_value_log = logging.getLogger(UNREADABLE_VALUE_LOGGER)
_value_log.addHandler(_UnreadableValues(logging.ERROR))
_value_log.propagate = False  # reported as a 502 instead of a stack trace on stderr


def _declared_element_reader(operation: SoapOperation) -> ElementReader:
    """Reads an element the WSDL's schema declares globally (fault details), else None."""
    types = operation.client.wsdl.types

    def read(element: etree._Element) -> Any:
        try:
            declaration = types.get_element(etree.QName(element).text)
            value = declaration.parse(element, types)
        except (ZeepError, LookupError, ValueError, TypeError, ArithmeticError):
            return None
        return to_json(value, "string", declaration.type)

    return read


def _envelope(reply: Reply, parse: Parse) -> tuple[etree._Element, str]:
    """The parsed `soap:Envelope` and its namespace, or the BackendError the bytes are."""
    content = _stripped(reply.content)
    if not content:
        raise BackendEmptyResponse(http_status=reply.status)
    content_type = reply.headers.get("content-type", "").lower()
    if "html" in content_type or content[:100].lower().startswith((b"<!doctype html", b"<html")):
        raise BackendHtmlResponse(http_status=reply.status)
    try:
        root = parse(content)
    except (etree.XMLSyntaxError, UnsafeXml) as exc:
        raise BackendMalformedXml(http_status=reply.status) from exc
    env_ns = _ENVELOPE_TAGS.get(root.tag)
    if env_ns is None:
        raise BackendNotSoap(http_status=reply.status)
    return root, env_ns


_XML_SPACE = frozenset(b" \t\r\n")


def _stripped(content: bytes) -> bytes:
    """`content.strip()`, without copying a reply that only ends in XML whitespace (a last
    newline, usually), which the parser skips anyway: a megabyte reply is not held twice."""
    end = len(content)
    while end and content[end - 1] in _XML_SPACE:
        end -= 1
    if end == 0 or content[:1].isspace() or content[end - 1 : end].isspace():
        return content.strip()  # leading space, or a form feed or vertical tab at the end
    return content


def _zeep_message(exc: Exception) -> str:
    """zeep's first line only: the rest is a signature dump."""
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
