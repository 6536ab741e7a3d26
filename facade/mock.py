"""A SOAP server made from a WSDL and Python handler functions.

It plays the legacy system in the demo and the SOAP peer in end-to-end tests, so it speaks
real SOAP 1.1 and 1.2 over HTTP: zeep reads requests and writes replies from the WSDL's
schema, and faults look like those of a .NET or Java stack.

    def GetCustomer(CustomerId):
        return {"Customer": {...}}

    app = build_mock_app(Path("wsdl/crm.wsdl"), {"GetCustomer": GetCustomer})
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import logging
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from zeep import ns
from zeep.exceptions import Error as ZeepError
from zeep.helpers import serialize_object
from zeep.wsdl.bindings.soap import Soap11Binding, Soap12Binding, SoapOperation
from zeep.xsd import ComplexType

from facade.errors import ConfigError, ConfigProblem
from facade.soap.facets import FacetIndex
from facade.soap.loader import load_wsdl
from facade.soap.operations import soap_operations
from facade.soap.samples import sample_type
from facade.soap.zeep_private import is_body_wrapped, parse_element
from facade.translate.xml import UnsafeXml, parse_xml, parse_xml_file

logger = logging.getLogger(__name__)

# Called with the request wrapper's children as keyword arguments: typed leaves (int, Decimal,
# date, ...) in plain dicts and lists; returns a dict of the response wrapper's children.
Handler = Callable[..., Any]

CONTENT_TYPES = {
    ns.SOAP_ENV_11: "text/xml; charset=utf-8",
    ns.SOAP_ENV_12: "application/soap+xml; charset=utf-8",
}
FAULT_CODES = {  # code -> (SOAP 1.1 faultcode, SOAP 1.2 Code/Value)
    "Client": ("Client", "Sender"),
    "Sender": ("Client", "Sender"),
    "Server": ("Server", "Receiver"),
    "Receiver": ("Server", "Receiver"),
}
ADDRESS_TAGS = (f"{{{ns.SOAP_11}}}address", f"{{{ns.SOAP_12}}}address")
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_REQUEST_BYTES = 10 * 1024 * 1024


class MockFault(Exception):
    """Raised by a handler to answer with a SOAP fault.

        raise MockFault("Customer 7 not found", code="Client",
                        detail={"CustomerNotFound": {"CustomerId": 7}})

    `code` is "Client" or "Server" (Sender/Receiver in SOAP 1.2). Each key of `detail` becomes
    an element in the WSDL's target namespace, typed by the schema when it declares one.
    """

    def __init__(self, message: str, *, code: str = "Server", detail: dict | None = None):
        if code not in FAULT_CODES:
            raise ValueError(f"fault code must be one of {sorted(FAULT_CODES)}, not {code!r}")
        super().__init__(message)
        self.message = message
        self.code = code
        self.detail = detail or {}


def load_handlers(path: Path) -> dict[str, Handler]:
    """Import a Python file and return its handlers by operation name.

    Every public function defined in the file is a candidate; a module-level `HANDLERS`
    mapping adds to (and overrides) them, for names that are not valid Python identifiers.
    """
    module_name = f"facade_mock_handlers_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up here
    spec.loader.exec_module(module)
    handlers: dict[str, Handler] = {
        name: value
        for name, value in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and value.__module__ == module_name
    }
    extra = getattr(module, "HANDLERS", {})
    if not isinstance(extra, Mapping) or not all(callable(h) for h in extra.values()):
        raise TypeError(f"{path}: HANDLERS must map operation names to callables")
    handlers.update(extra)
    return handlers


def build_mock_app(wsdl_path: Path, handlers: Mapping[str, Handler]) -> Starlette:
    """A Starlette app that answers the WSDL's SOAP operations with the given handlers."""
    service = _MockService(wsdl_path, handlers)
    return Starlette(routes=[Route("/{path:path}", service.endpoint, methods=["GET", "POST"])])


def sample_handlers(wsdl_path: Path) -> dict[str, Handler]:
    """A handler per SOAP operation that answers with sample data shaped by its output.

    What `facade mock WSDL` serves when no handlers are given: any WSDL becomes a live
    peer to try routes against.
    """
    loaded = load_wsdl(wsdl_path)
    client = loaded.client
    facets = FacetIndex.from_documents(loaded.documents)

    def enumerations(xsd_type: object) -> tuple[str, ...]:
        return facets.for_type(xsd_type).enumeration

    handlers: dict[str, Handler] = {}
    for name, ports in soap_operations(client).items():
        output = ports[0].binding.get(name).output
        body = output.body if output is not None else None
        sample = sample_type(body.type, enumerations) if body is not None else None

        def answer(_sample: Any = sample, **_arguments: Any) -> Any:
            return copy.deepcopy(_sample)

        handlers[name] = answer
    return handlers


SAMPLE_ANSWER = "sample answer"


def mock_handlers(
    wsdl_path: Path, handlers_path: Path | None
) -> tuple[dict[str, Handler], dict[str, str]]:
    """The handler of every SOAP operation, and where each comes from (for the start banner).

    Operations the handlers file leaves out answer sample data, so a file can start with the
    one operation being worked on. Raises ConfigError for a WSDL that cannot be served (not
    loadable, WSDL 2.0, or no SOAP operation at all).
    """
    handlers = sample_handlers(wsdl_path)
    if not handlers:
        raise ConfigError([ConfigProblem(str(wsdl_path), "", "has no SOAP operations to serve")])
    sources = dict.fromkeys(handlers, SAMPLE_ANSWER)
    if handlers_path is not None:
        own = load_handlers(handlers_path)
        handlers.update(own)
        sources.update({name: f"{handlers_path.name}" for name in own if name in sources})
    return handlers, sources


def run_mock(wsdl_path: Path, handlers: Mapping[str, Handler], host: str, port: int) -> None:
    """Serve the mock until interrupted (the `facade mock` command)."""
    app = build_mock_app(wsdl_path, handlers)
    uvicorn.run(app, host=host, port=port)


class _ClientFault(Exception):
    """The request itself is wrong: answered with a Client/Sender fault."""


class _MockService:
    """The WSDL's operations indexed by the request element they take, and their handlers."""

    def __init__(self, wsdl_path: Path, handlers: Mapping[str, Handler]) -> None:
        self.wsdl = load_wsdl(wsdl_path).client.wsdl
        self.wsdl_tree = parse_xml_file(wsdl_path).getroottree()
        self.target_namespace = self.wsdl_tree.getroot().get("targetNamespace", "")
        self.handlers = dict(handlers)
        # (envelope namespace, body element QName) -> operation; the first binding wins.
        self.operations: dict[tuple[str, str], SoapOperation] = {}
        for binding in self.wsdl.bindings.values():
            if not isinstance(binding, Soap11Binding | Soap12Binding):
                continue
            for operation in binding.all().values():
                body = operation.input.body if operation.input else None
                if body is not None and not is_body_wrapped(operation.input):
                    key = (binding.nsmap["soap-env"], body.qname.text)
                    self.operations.setdefault(key, operation)
        names = {operation.name for operation in self.operations.values()}
        for name in sorted(set(self.handlers) - names):
            logger.warning("handler %r matches no operation of %s", name, wsdl_path)

    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            if any(key.lower() == "wsdl" for key in request.query_params):
                return self._wsdl_response(request)
            return PlainTextResponse("Not Found", status_code=404)
        is_soap12 = "application/soap+xml" in request.headers.get("content-type", "")
        envelope_ns = ns.SOAP_ENV_12 if is_soap12 else ns.SOAP_ENV_11
        try:
            envelope = _parse_envelope(await _read_limited(request))
            envelope_ns = etree.QName(envelope).namespace or ""
            return await self._answer(envelope_ns, envelope)
        except _ClientFault as exc:
            return self._fault(envelope_ns, MockFault(str(exc), code="Client"))
        except MockFault as fault:
            return self._fault(envelope_ns, fault)

    async def _answer(self, envelope_ns: str, envelope: etree._Element) -> Response:
        body = envelope.find(f"{{{envelope_ns}}}Body")
        request_element = next((el for el in body if isinstance(el.tag, str)), None)
        if request_element is None:
            raise _ClientFault("the SOAP Body is empty")
        operation = self.operations.get((envelope_ns, request_element.tag))
        if operation is None:
            version = "1.2" if envelope_ns == ns.SOAP_ENV_12 else "1.1"
            raise _ClientFault(
                f"no SOAP {version} operation of this service takes {request_element.tag}"
            )
        handler = self.handlers.get(operation.name)
        if handler is None:
            raise _ClientFault(f"operation {operation.name} has no handler in this mock")
        _empty_text_is_text(request_element)
        try:
            element = operation.input.body
            value = parse_element(element, request_element, self.wsdl)
            if value is None and isinstance(element.type, ComplexType):
                # zeep reads an empty wrapper (`<Op/>`, an operation without arguments) as
                # None; render its members instead, so required ones are still reported
                value = element.type()
            _empty_objects_are_objects(element, request_element, value)
            # zeep parses an unreadable value ("one" as xsd:int) as None and only logs it, and
            # checks required elements only when rendering: a throwaway render catches both.
            element.render(etree.Element("validate"), value)
        except (ZeepError, ValueError, TypeError) as exc:
            raise _ClientFault(f"invalid {operation.name} request: {exc}") from exc
        arguments = serialize_object(value, dict)
        result = await _call(handler, arguments if isinstance(arguments, dict) else {})
        if operation.output is None:
            return Response(status_code=202)
        try:
            result = _dates_as_text(result)
            if isinstance(result, Mapping):
                message = operation.output.serialize(**result)
            else:
                message = operation.output.serialize(*(() if result is None else (result,)))
        except (ZeepError, ValueError, TypeError) as exc:
            logger.warning("handler of %s returned an invalid result: %s", operation.name, exc)
            raise MockFault(
                f"handler of {operation.name} returned a result that does not match the "
                f"output message: {exc}"
            ) from exc
        return _xml_response(message.content, envelope_ns, status=200)

    def _fault(self, envelope_ns: str, fault: MockFault) -> Response:
        """A SOAP 1.1 or 1.2 Fault with HTTP 500, as both specs' HTTP bindings do."""
        code11, code12 = FAULT_CODES[fault.code]
        envelope = etree.Element(f"{{{envelope_ns}}}Envelope", nsmap={"soap": envelope_ns})
        body = etree.SubElement(envelope, f"{{{envelope_ns}}}Body")
        node = etree.SubElement(body, f"{{{envelope_ns}}}Fault")
        if envelope_ns == ns.SOAP_ENV_11:
            etree.SubElement(node, "faultcode").text = f"soap:{code11}"
            etree.SubElement(node, "faultstring").text = fault.message
            detail_tag = "detail"
        else:
            code = etree.SubElement(node, f"{{{envelope_ns}}}Code")
            etree.SubElement(code, f"{{{envelope_ns}}}Value").text = f"soap:{code12}"
            reason = etree.SubElement(node, f"{{{envelope_ns}}}Reason")
            text = etree.SubElement(reason, f"{{{envelope_ns}}}Text", {XML_LANG: "en"})
            text.text = fault.message
            detail_tag = f"{{{envelope_ns}}}Detail"
        if fault.detail:
            detail = etree.SubElement(node, detail_tag)
            for name, value in fault.detail.items():
                self._render_detail(detail, name, value)
        return _xml_response(envelope, envelope_ns, status=500)

    def _render_detail(self, parent: etree._Element, name: str, value: Any) -> None:
        """Typed by the schema's element of that name when there is one, else plain text."""
        qname = etree.QName(self.target_namespace, name)
        try:
            element = self.wsdl.types.get_element(qname)
            rendered = etree.Element("detail")
            element.render(rendered, element(**value) if isinstance(value, Mapping) else value)
        except (ZeepError, ValueError, TypeError):
            _append_plain(parent, qname, value)
        else:
            parent.extend(rendered)

    def _wsdl_response(self, request: Request) -> Response:
        """The WSDL, with every port's address pointing where this request came in."""
        tree = copy.deepcopy(self.wsdl_tree)
        location = str(request.url.replace(query=None, fragment=None))
        for tag in ADDRESS_TAGS:
            for address in tree.iter(tag):
                address.set("location", location)
        content = etree.tostring(tree, xml_declaration=True, encoding="utf-8")
        return Response(content, media_type="text/xml; charset=utf-8")


async def _call(handler: Handler, arguments: dict[str, Any]) -> Any:
    """Run a handler (async, or sync in a thread); any error but MockFault is hidden."""
    try:
        if inspect.iscoroutinefunction(handler):
            return await handler(**arguments)
        result = await run_in_threadpool(handler, **arguments)
        return await result if inspect.isawaitable(result) else result
    except MockFault:
        raise
    except Exception:
        # The handler's message may hold anything; it goes to the log, not to the caller.
        logger.exception("handler %r failed", getattr(handler, "__name__", handler))
        raise MockFault("internal error in handler", code="Server") from None


async def _read_limited(request: Request) -> bytes:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise _ClientFault(f"request body exceeds {MAX_REQUEST_BYTES} bytes")
    return bytes(data)


def _parse_envelope(data: bytes) -> etree._Element:
    try:
        root = parse_xml(data)
    except etree.XMLSyntaxError as exc:
        raise _ClientFault(f"request body is not well-formed XML: {exc.msg}") from exc
    except UnsafeXml as exc:
        raise _ClientFault("request body contains a DTD, which is not allowed") from exc
    qname = etree.QName(root)
    if qname.localname != "Envelope" or qname.namespace not in CONTENT_TYPES:
        raise _ClientFault("request body is not a SOAP 1.1 or 1.2 Envelope")
    if root.find(f"{{{qname.namespace}}}Body") is None:
        raise _ClientFault("the SOAP Envelope has no Body")
    return root


def _append_plain(parent: etree._Element, tag: etree.QName, value: Any) -> None:
    if isinstance(value, list | tuple):
        for item in value:
            _append_plain(parent, tag, item)
        return
    child = etree.SubElement(parent, tag)
    if isinstance(value, Mapping):
        for name, item in value.items():
            _append_plain(child, etree.QName(tag.namespace, name), item)
    elif value is None:
        child.set(f"{{{ns.XSI}}}nil", "true")
    elif isinstance(value, bool):
        child.text = "true" if value else "false"
    elif hasattr(value, "isoformat"):
        child.text = value.isoformat()
    else:
        child.text = str(value)


def _empty_objects_are_objects(element: Any, xml: etree._Element, value: Any) -> None:
    """An argument sent as an empty element (`<Customer/>`, an update changing nothing) is
    an object without members, as a real service reads it; zeep reads it as None, and would
    then report it as missing. Only the wrapper's own children are looked at."""
    if value is None or not isinstance(element.type, ComplexType):
        return
    present = {etree.QName(child).localname for child in xml if isinstance(child.tag, str)}
    for name, child in element.type.elements:
        if isinstance(child.type, ComplexType) and name in present and value[name] is None:
            value[name] = child.type()


def _dates_as_text(value: Any) -> Any:
    """Dates in a handler's result as ISO 8601 text: zeep writes a date with strftime,
    which gives `490-07-31` (not a valid xsd:date) for the year 490."""
    if isinstance(value, Mapping):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_dates_as_text(item) for item in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


def _empty_text_is_text(root: etree._Element) -> None:
    """`<Name></Name>` is an empty string, as a real service reads it; zeep reads an element
    without text as absent, and would then report a required one as missing."""
    for element in root.iter():
        if len(element) == 0 and element.text is None and element.get(_XSI_NIL) is None:
            element.text = ""


_XSI_NIL = f"{{{ns.XSI}}}nil"


def _xml_response(envelope: etree._Element, envelope_ns: str, *, status: int) -> Response:
    content = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return Response(content, status_code=status, media_type=CONTENT_TYPES[envelope_ns])
