"""A scriptable legacy CRM on loopback for fault tests: a threaded HTTP server that counts
the calls it gets and how many ran at once, and answers as each test says.

with SoapPeer() as peer:                     # answers every call with a customer
    peer.answer = lambda call: FAULT_500     # or (status, content type, body), per call
    peer.url                                 # http://127.0.0.1:PORT/crm

Each call reaches `answer` on its own thread, so a slow or blocked answer holds only
its own connection, as a real backend's would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wsdls import SOAP11_ENV, envelope

CRM = "http://example.com/crm"
XML = "text/xml; charset=utf-8"

CUSTOMER = f"""<c:Customer xmlns:c="{CRM}">
  <c:Id>1</c:Id><c:Name>Ada Lovelace</c:Name><c:Email>ada@example.com</c:Email>
  <c:Status>active</c:Status><c:Balance>1234.50</c:Balance>
  <c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt>
  <c:Address><c:Street>x</c:Street><c:City>London</c:City><c:PostalCode>p</c:PostalCode>
    <c:Country>GB</c:Country></c:Address>
</c:Customer>"""


def reply_of(operation: str) -> str:
    return envelope(f'<c:{operation}Response xmlns:c="{CRM}">{CUSTOMER}</c:{operation}Response>')


OK = (200, XML, "")
"""The operation's answer (a customer), whichever operation was called."""
FAULT_500 = (
    500,
    XML,
    envelope(
        f'<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:Server</faultcode>'
        "<faultstring>boom</faultstring></s:Fault>"
    ),
)
NOT_FOUND_FAULT = (
    500,
    XML,
    envelope(
        f'<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:Client</faultcode>'
        f'<faultstring>not found</faultstring><detail><c:CustomerNotFound xmlns:c="{CRM}">'
        "<c:CustomerId>42</c:CustomerId></c:CustomerNotFound></detail></s:Fault>"
    ),
)
PROXY_503 = (503, "text/html", "<html><body>upstream down</body></html>")

Answer = tuple[int, str, str]


@dataclass(frozen=True)
class Call:
    """One call the peer received."""

    number: int
    """1 for the first call the peer got, 2 for the next..."""
    action: str
    body: bytes


class SoapPeer:
    def __init__(self, port: int = 0) -> None:
        self.answer: Callable[[Call], Answer] = lambda call: OK
        self.calls: list[Call] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/crm"

    def __enter__(self) -> SoapPeer:
        # shutdown() waits for the loop to look at its flag: every 0.05 s, not the stdlib's 0.5
        thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                action = self.headers.get("soapaction", "").strip('"').rsplit("/", 1)[-1]
                with peer._lock:
                    call = Call(len(peer.calls) + 1, action, body)
                    peer.calls.append(call)
                    peer.running += 1
                    peer.most_at_once = max(peer.most_at_once, peer.running)
                try:
                    status, kind, content = peer.answer(call)
                finally:
                    with peer._lock:
                        peer.running -= 1
                data = (content or reply_of(action)).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


def route(
    method: str, path: str, operation: str, request: dict[str, str], **legacy: Any
) -> dict[str, Any]:
    """A mapping document of the demo CRM WSDL whose backend is ${CRM_URL}."""
    return {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": operation,
            "address": "${CRM_URL}",
            "request": request,
            **legacy,
        },
    }


GET_CUSTOMER = route(
    "GET",
    "/v1/customers/{id}",
    "GetCustomer",
    {"CustomerId": "path.id"},
    response="Customer.{id: Id, name: Name}",
    faults={"CustomerNotFound": 404},
)
CREATE_CUSTOMER = route(
    "POST",
    "/v1/customers",
    "CreateCustomer",
    {"Customer": "body"},
    response="Customer.{id: Id, name: Name}",
    faults={"CustomerNotFound": 404},
) | {"route": {"method": "POST", "path": "/v1/customers", "status": 201}}
NEW_CUSTOMER = {
    "Name": "Alan",
    "Address": {"Street": "s", "City": "c", "PostalCode": "p", "Country": "GB"},
}
