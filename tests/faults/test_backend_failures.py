"""Every way a legacy backend misbehaves, against a real HTTP peer on loopback.

Requests go through the pipeline (facade/pipeline.py) to the legacy backend
(facade/backends/legacy.py), which posts through the network seam (facade/net/) to
pytest-httpserver; read_reply (facade/soap/message.py) classifies what comes back.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wsdls import SOAP11_ENV, SOAP12_ENV, TNS, envelope, load_operation, write_wsdl, wsdl

from facade.backends.legacy import LegacyBackend
from facade.context import RequestContext
from facade.errors import (
    BackendEmptyResponse,
    BackendError,
    BackendHtmlResponse,
    BackendMalformedXml,
    BackendNotSoap,
    BackendTimeout,
    BackendUnexpectedResponse,
    BackendUnreachable,
    FacadeError,
    SoapFault,
)
from facade.mapping.loader import load_mappings
from facade.net import HttpTransport, Reply
from facade.pipeline import Failure, ServedRoute, handle
from facade.routetable import RouteTable, build_route_table
from facade.soap.message import FaultReply, read_reply
from facade.soap.registry import WsdlRegistry
from facade.types import JSON

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"
REQUEST_ID = "req-0042"
CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}

ADA = f"""<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer>
  <c:Id>1</c:Id><c:Name>Ada Lovelace</c:Name><c:Email>ada@example.com</c:Email>
  <c:Status>active</c:Status><c:Balance>1234.50</c:Balance>
  <c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt>
  <c:Address><c:Street>x</c:Street><c:City>London</c:City><c:PostalCode>p</c:PostalCode>
    <c:Country>GB</c:Country></c:Address>
  <c:Tags>vip</c:Tags>
</c:Customer></c:GetCustomerResponse>"""

NOT_FOUND_11 = f"""<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:Client</faultcode>
  <faultstring>Customer 42 not found</faultstring>
  <detail><c:CustomerNotFound xmlns:c="{CRM}"><c:CustomerId>42</c:CustomerId></c:CustomerNotFound>
  </detail></s:Fault>"""

NOT_FOUND_12 = f"""<s:Fault xmlns:s="{SOAP12_ENV}">
  <s:Code><s:Value>s:Sender</s:Value></s:Code>
  <s:Reason><s:Text xml:lang="en">Customer 42 not found</s:Text></s:Reason>
  <s:Detail><c:CustomerNotFound xmlns:c="{CRM}"><c:CustomerId>42</c:CustomerId>
  </c:CustomerNotFound></s:Detail></s:Fault>"""

HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
    "<body><h1>Proxy error</h1><p>upstream crm-db-01.internal refused: password=hunter2</p>"
    "</body></html>"
)

RouteFactory = Callable[..., RouteTable]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def make_route(httpserver: HTTPServer, tmp_path: Path) -> RouteFactory:
    """A compiled GetCustomer route whose legacy address is the test HTTP server."""

    def make(version: str = "1.1", address: str | None = None, **legacy: Any) -> RouteTable:
        document = {
            "route": {"method": "GET", "path": "/v1/customers/{id}"},
            "legacy": {
                "wsdl": "crm.wsdl",
                "operation": "GetCustomer",
                "port": "CrmServiceSoap" if version == "1.1" else "CrmServiceSoap12",
                "address": "${CRM_URL}",
                "request": {"CustomerId": "path.id"},
                **legacy,
            },
        }
        folder = tmp_path / "mappings"
        folder.mkdir(exist_ok=True)
        (folder / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
        env = {"CRM_URL": address or httpserver.url_for("/crm")}
        return build_route_table(load_mappings(folder, env), WsdlRegistry(ROOT / "wsdl"))

    return make


def call(table: RouteTable, customer_id: str = "1") -> JSON:
    """The route's answer through the pipeline; a failure is raised, after checking that it
    names the legacy side."""

    async def run() -> JSON:
        transport = HttpTransport()
        [route] = table
        served = ServedRoute(route, table.validators[route.name], LegacyBackend(route, transport))
        try:
            context = RequestContext(
                route=route.name, request_id=REQUEST_ID, path={"id": customer_id}
            )
            outcome = await handle(served, context)
        finally:
            await transport.aclose()
        if isinstance(outcome, Failure):
            assert outcome.side == "legacy"
            raise outcome.error
        assert outcome.side == "legacy"
        return outcome.body

    return asyncio.run(run())


def failure(table: RouteTable) -> FacadeError:
    with pytest.raises(FacadeError) as caught:
        call(table)
    return caught.value


def answer(httpserver: HTTPServer, content: str | bytes, status: int = 200, **kwargs: Any) -> None:
    kwargs.setdefault("content_type", CONTENT_TYPES["1.1"])
    httpserver.expect_request("/crm", method="POST").respond_with_data(
        content, status=status, **kwargs
    )


# Success, and what the backend receives


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_success(httpserver: HTTPServer, make_route: RouteFactory, version: str) -> None:
    route = make_route(version, response="Customer.{id: Id, balance: Balance, tags: Tags}")
    answer(httpserver, envelope(ADA, version), content_type=CONTENT_TYPES[version])
    assert call(route) == {"id": 1, "balance": "1234.50", "tags": ["vip"]}


def test_soap11_request_headers_and_body(httpserver: HTTPServer, make_route: RouteFactory) -> None:
    answer(httpserver, envelope(ADA))
    call(make_route("1.1"), customer_id="7")
    [(request, _)] = httpserver.log
    assert request.headers["SOAPAction"] == f'"{CRM}/GetCustomer"'
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert request.headers["X-Request-ID"] == REQUEST_ID
    root = etree.fromstring(request.get_data())
    assert root.tag == f"{{{SOAP11_ENV}}}Envelope"
    assert root.findtext(f".//{{{CRM}}}GetCustomer/{{{CRM}}}CustomerId") == "7"


def test_soap12_request_headers(httpserver: HTTPServer, make_route: RouteFactory) -> None:
    answer(httpserver, envelope(ADA, "1.2"), content_type=CONTENT_TYPES["1.2"])
    call(make_route("1.2"))
    [(request, _)] = httpserver.log
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("application/soap+xml; charset=utf-8")
    assert f'action="{CRM}/GetCustomer"' in content_type
    # zeep sends the SOAP 1.1 SOAPAction header as well; SOAP 1.2 servers ignore it
    assert request.headers.get("SOAPAction", f'"{CRM}/GetCustomer"') == f'"{CRM}/GetCustomer"'
    assert request.headers["X-Request-ID"] == REQUEST_ID
    assert etree.fromstring(request.get_data()).tag == f"{{{SOAP12_ENV}}}Envelope"


# SOAP faults


@pytest.mark.parametrize(("version", "fault"), [("1.1", NOT_FOUND_11), ("1.2", NOT_FOUND_12)])
def test_fault_with_http_500_gets_the_mapped_status(
    httpserver: HTTPServer, make_route: RouteFactory, version: str, fault: str
) -> None:
    route = make_route(version, faults={"CustomerNotFound": 404})
    answer(httpserver, envelope(fault, version), 500, content_type=CONTENT_TYPES[version])
    error = failure(route)
    assert isinstance(error, SoapFault)
    assert (error.status, error.type) == (404, "urn:facade:problem:soap-fault")
    assert error.message == "Customer 42 not found"
    assert error.detail == "Customer 42 not found"
    fault_json = error.extensions()["fault"]
    assert fault_json["code"] == ("Client" if version == "1.1" else "Sender")
    assert list(fault_json["detail"]) == ["CustomerNotFound"]
    assert str(fault_json["detail"]["CustomerNotFound"]["CustomerId"]) == "42"


@pytest.mark.parametrize(
    ("code", "status"), [("s:Client", 400), ("s:Server", 502), ("s:Client.Auth", 400)]
)
def test_unmapped_fault_gets_the_default_status(
    httpserver: HTTPServer, make_route: RouteFactory, code: str, status: int
) -> None:
    fault = f'<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>{code}</faultcode></s:Fault>'
    answer(httpserver, envelope(fault), 500)
    error = failure(make_route())
    assert isinstance(error, SoapFault)
    assert error.status == status


def test_fault_with_http_200_is_still_a_fault(
    httpserver: HTTPServer, make_route: RouteFactory
) -> None:
    answer(httpserver, envelope(NOT_FOUND_11), 200)
    assert isinstance(failure(make_route()), SoapFault)


# Replies that are not usable SOAP


@pytest.mark.parametrize(
    ("status", "content_type"),
    [(200, "text/html; charset=utf-8"), (503, "text/html"), (502, "text/xml"), (200, None)],
)
def test_html_error_page(
    httpserver: HTTPServer, make_route: RouteFactory, status: int, content_type: str | None
) -> None:
    answer(httpserver, HTML_PAGE, status, content_type=content_type)
    error = failure(make_route())
    assert type(error) is BackendHtmlResponse
    assert (error.status, error.http_status) == (502, status)
    assert error.extensions() == {"backend_status": status}
    assert error.detail == (
        f"The backend answered with an HTML page instead of SOAP (HTTP {status})"
    )
    assert "hunter2" not in repr(error.__dict__)


@pytest.mark.parametrize(("status", "content"), [(200, ""), (500, ""), (200, "  \r\n ")])
def test_empty_body(
    httpserver: HTTPServer, make_route: RouteFactory, status: int, content: str
) -> None:
    answer(httpserver, content, status)
    error = failure(make_route())
    assert type(error) is BackendEmptyResponse
    assert error.http_status == status


@pytest.mark.parametrize(
    "content",
    [
        "this is not xml",
        envelope(ADA)[:-20],
        f'<s:Envelope xmlns:s="{SOAP11_ENV}"><s:Body></s:Envelope>',
        b"\xff\xfe<\x00?\x00",
    ],
)
def test_malformed_xml(httpserver: HTTPServer, make_route: RouteFactory, content: Any) -> None:
    answer(httpserver, content)
    error = failure(make_route())
    assert type(error) is BackendMalformedXml
    assert error.status == 502


@pytest.mark.parametrize(
    "content",
    [
        "<GetCustomerResponse/>",
        '<Envelope xmlns="urn:not-soap"><Body/></Envelope>',
        "<soap:Envelope/>".replace("soap:", ""),
        '<?xml version="1.0"?><rss version="2.0"><channel/></rss>',
    ],
)
def test_xml_that_is_not_an_envelope(
    httpserver: HTTPServer, make_route: RouteFactory, content: str
) -> None:
    answer(httpserver, content)
    assert type(failure(make_route())) is BackendNotSoap


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE s:Envelope [<!ENTITY name "EXPANDED">]>',
        '<!DOCTYPE s:Envelope [<!ENTITY name SYSTEM "file:///etc/hostname">]>',
        '<!DOCTYPE s:Envelope [<!ENTITY a "EXPANDED"><!ENTITY name "&a;&a;&a;&a;&a;&a;">]>',
        '<!DOCTYPE s:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">',
    ],
)
def test_doctype_and_entities_are_refused_never_expanded(
    httpserver: HTTPServer, make_route: RouteFactory, doctype: str
) -> None:
    body = ADA.replace("Ada Lovelace", "&name;") if "ENTITY" in doctype else ADA
    answer(httpserver, doctype + envelope(body))
    error = failure(make_route())
    assert type(error) is BackendMalformedXml
    assert "EXPANDED" not in error.detail
    assert len(httpserver.log) == 1  # the DTD's URL was never fetched


def test_http_500_envelope_without_fault(httpserver: HTTPServer, make_route: RouteFactory) -> None:
    answer(httpserver, envelope(ADA), 500)
    error = failure(make_route())
    assert type(error) is BackendError
    assert error.status == 502
    assert error.detail == "The backend answered HTTP 500 without a SOAP fault"


@pytest.mark.parametrize(
    "body",
    [
        "",  # no body element at all
        "just text",
        f'<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer><c:Balance>lots</c:Balance>'
        "</c:Customer></c:GetCustomerResponse>",
        f'<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer xsi:type="c:Nope" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/></c:GetCustomerResponse>',
        # zeep reads these as null and only logs it; the facade refuses them instead
        f'<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer><c:Id>one</c:Id>'
        "</c:Customer></c:GetCustomerResponse>",
        f'<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer><c:Id>1</c:Id>'
        "<c:BirthDate>last spring</c:BirthDate></c:Customer></c:GetCustomerResponse>",
    ],
)
def test_reply_that_does_not_match_the_wsdl(
    httpserver: HTTPServer, make_route: RouteFactory, body: str
) -> None:
    answer(httpserver, envelope(body))
    error = failure(make_route())
    assert type(error) is BackendUnexpectedResponse
    assert error.detail == "The backend's SOAP reply does not match its WSDL (HTTP 200)"


def test_fault_detail_that_does_not_fit_its_declaration_is_read_untyped(tmp_path: Path) -> None:
    limit = (
        '<xs:element name="Limit"><xs:complexType><xs:sequence>'
        '<xs:element name="Max" type="xs:decimal"/></xs:sequence></xs:complexType></xs:element>'
    )
    operation = load_operation(
        write_wsdl(tmp_path, "t.wsdl", wsdl({"Op": ("", "")}, types=limit)), "Op"
    )
    fault = (
        f'<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:Client</faultcode><detail>'
        f'<t:Limit xmlns:t="{TNS}"><t:Max>{{}}</t:Max></t:Limit></detail></s:Fault>'
    )
    with pytest.raises(FaultReply) as typed:
        read_reply(operation, Reply(500, {}, envelope(fault.format("2.50")).encode()))
    assert typed.value.fault.detail == {"Limit": {"Max": "2.50"}}
    with pytest.raises(FaultReply) as untyped:
        read_reply(operation, Reply(500, {}, envelope(fault.format("lots")).encode()))
    assert untyped.value.fault.detail == {"Limit": {"Max": "lots"}}


# The network


@pytest.fixture
def slow_backend(httpserver: HTTPServer) -> Iterator[threading.Event]:
    """A backend that answers only when released (or after 2 s)."""
    release = threading.Event()

    def handler(request: Request) -> Response:
        release.wait(2)
        return Response(envelope(ADA), content_type=CONTENT_TYPES["1.1"])

    httpserver.expect_request("/crm").respond_with_handler(handler)
    yield release
    release.set()


def test_slow_answer_beyond_the_timeout(
    slow_backend: threading.Event, make_route: RouteFactory
) -> None:
    route = make_route(timeout=0.2)
    error = failure(route)  # the backend holds its answer until the test ends
    assert type(error) is BackendTimeout
    assert error.status == 504
    assert error.detail == "The backend did not answer within 0.2 s"


def test_slow_answer_within_the_timeout(
    slow_backend: threading.Event, make_route: RouteFactory
) -> None:
    slow_backend.set()
    assert call(make_route(timeout=5))["Customer"]["Id"] == 1


def test_connection_refused(make_route: RouteFactory) -> None:
    route = make_route(address=f"http://127.0.0.1:{closed_port()}/crm")
    error = failure(route)
    assert type(error) is BackendUnreachable
    assert error.status == 502
    assert error.detail == "The backend could not be reached"
