"""Real servers on loopback for tests: an ASGI app under uvicorn, in a background thread,
with the server settings `facade serve` uses (the facade's own protocol, no uvicorn access
log), so that what the tests see is what clients of the facade see.

with serve_in_thread(app) as base_url:
    httpx.get(base_url + "/health")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from pytest_httpserver import HTTPServer

from facade.protocol import HttpProtocol

STARTUP_TIMEOUT = 10.0  # seconds for uvicorn to start listening
SHUTDOWN_POLL = 0.05  # seconds between a stopping server's looks at its shutdown flag


class PromptHTTPServer(HTTPServer):
    """pytest-httpserver's server, stopped within SHUTDOWN_POLL: werkzeug's serve_forever
    looks for a shutdown every 0.5 s, which a fixture per test pays at each teardown."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=SHUTDOWN_POLL)


@contextmanager
def serve_in_thread(app: Any, *, timeout: float = STARTUP_TIMEOUT, **options: Any) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 on a free port; yield its base URL; stop it on exit.
    `options` go to uvicorn's Config (`http="httptools"` for stock uvicorn's protocol).

    The socket is bound here, before the thread starts, so the port is known and cannot be
    taken by another process in between.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        served = {
            "log_level": "warning",
            "ws": "none",
            "http": HttpProtocol,
            "access_log": False,
            "server_header": False,
            "proxy_headers": False,
        }
        config = uvicorn.Config(app, host=host, port=port, **{**served, **options})
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + timeout
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start on {host}:{port}")
                time.sleep(0.01)
            yield f"http://{host}:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout)
    finally:
        sock.close()


REPLY = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
    b'<c:GetCustomerResponse xmlns:c="http://example.com/crm"><c:Customer><c:Id>1</c:Id>'
    b"<c:Name>Ada Lovelace</c:Name><c:Status>active</c:Status><c:Balance>1234.50</c:Balance>"
    b"<c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt><c:Address><c:Street>x</c:Street>"
    b"<c:City>London</c:City><c:PostalCode>p</c:PostalCode><c:Country>GB</c:Country>"
    b"</c:Address></c:Customer></c:GetCustomerResponse></soap:Body></soap:Envelope>"
)


async def request_body(receive: Any) -> bytes:
    """The whole body of an ASGI request, however many messages it came in."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def canned_soap(scope: Any, receive: Any, send: Any) -> None:
    """A backend that answers every POST with the same GetCustomer reply, at once."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"text/xml; charset=utf-8")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": REPLY})
