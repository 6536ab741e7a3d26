"""What a client and the log may learn when things go wrong: never a stack trace, a
backend's body, a credential or an internal address; and a 500's request id is the one its
log line carries.

The facade runs under uvicorn with its JSON logging at INFO on stderr, as `facade serve`
runs it; each case asserts on the response and on everything written to stderr.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from pytest_httpserver import HTTPServer
from servers import serve_in_thread
from wsdls import SOAP11_ENV, envelope

from facade.app import create_app
from facade.mapping.loader import load_mappings
from facade.net import MemoryTransport, Reply, Transport
from facade.net.memory import MemoryRequest
from facade.observability import JsonFormatter
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"
SECRETS = ("hunter2", "crm-db-01.internal", "10.20.30.40", "/srv/crm/", "Traceback", "\tat ")
TRACE = (
    "java.lang.NullPointerException: password=hunter2 user=sa\n"
    "\tat com.acme.crm.CustomerDao.find(CustomerDao.java:42)\n"
    "\tat com.acme.crm.Service.get(Service.java:7) on crm-db-01.internal:5432"
)


class JsonLog:
    """The facade's JSON log lines (its formatter, at a level) and the rest of stderr,
    where the server would print a traceback it was handed."""

    def __init__(self, capfd: pytest.CaptureFixture[str], level: int) -> None:
        self.capfd = capfd
        self.stream = io.StringIO()
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(JsonFormatter())
        logger = logging.getLogger("facade")
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False

    def read(self) -> tuple[str, list[dict[str, Any]]]:
        text = self.stream.getvalue()
        lines = [orjson.loads(line) for line in text.splitlines()]
        return text + self.capfd.readouterr().err, lines

    @staticmethod
    def reset() -> None:
        logger = logging.getLogger("facade")
        logger.handlers[:] = []
        logger.setLevel(logging.NOTSET)
        logger.propagate = True


@pytest.fixture
def json_log(capfd: pytest.CaptureFixture[str]) -> Iterator[JsonLog]:
    """The log at INFO, as `facade serve` writes it."""
    try:
        yield JsonLog(capfd, logging.INFO)
    finally:
        JsonLog.reset()


def log_lines(log: JsonLog) -> tuple[str, list[dict[str, Any]]]:
    return log.read()


def serve(folder: Path, address: str, transport: Transport | None = None, **legacy: Any) -> Any:
    document = {
        "route": {"method": "GET", "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "${CRM_URL}",
            "request": {"CustomerId": "path.id"},
            **legacy,
        },
    }
    (folder / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(folder, {"CRM_URL": address}), registry)
    return serve_in_thread(create_app(table, registry, transport=transport))


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {text[:300]!r}"


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (500, "text/html", f"<html><body><pre>{TRACE}</pre> /srv/crm/app.war</body></html>"),
        (502, "text/plain", f"upstream 10.20.30.40 refused: {TRACE}"),
        (500, "text/xml", envelope(f"<Oops>{TRACE}</Oops>")),
        (200, "text/xml", f"<not-closed>{TRACE}"),
    ],
)
def test_a_backend_body_with_secrets_reaches_neither_client_nor_log(
    tmp_path: Path,
    httpserver: HTTPServer,
    json_log: JsonLog,
    status: int,
    content_type: str,
    body: str,
) -> None:
    httpserver.expect_request("/crm").respond_with_data(body, status, content_type=content_type)
    with serve(tmp_path, httpserver.url_for("/crm")) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == 502
    assert answer.json()["detail"]
    err, _ = log_lines(json_log)
    assert_clean(answer.text, str(answer.headers), err)


def fault(code: str, string: str, detail: str) -> str:
    return envelope(
        f'<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:{code}</faultcode>'
        f"<faultstring>{string}</faultstring><detail>{detail}</detail></s:Fault>"
    )


@pytest.mark.parametrize(
    ("code", "faults", "status"),
    [("Server", {}, 502), ("Client", {}, 400), ("Client", {"Client": 409}, 409)],
)
def test_a_fault_with_a_stack_trace_shows_no_trace(
    tmp_path: Path,
    httpserver: HTTPServer,
    json_log: JsonLog,
    code: str,
    faults: dict[str, int],
    status: int,
) -> None:
    detail = f"<trace>{TRACE}</trace>"
    httpserver.expect_request("/crm").respond_with_data(
        fault(code, TRACE, detail), 500, content_type="text/xml"
    )
    with serve(tmp_path, httpserver.url_for("/crm"), faults=faults) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == status
    problem = answer.json()
    assert problem["type"] == "urn:facade:problem:soap-fault"
    assert problem["detail"] == "The backend reported a fault"
    err, _ = log_lines(json_log)
    assert_clean(str(problem.get("fault", {}).get("message", "")), str(problem["detail"]), err)
    if not faults:  # an unmapped fault's detail is not part of the contract: never shown
        assert_clean(answer.text)


def test_a_clean_client_fault_message_still_says_what_to_fix(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    message = "CustomerId must be positive (see http://ops:hunter2@docs.example/crm)"
    httpserver.expect_request("/crm").respond_with_data(
        fault("Client", message, ""), 500, content_type="text/xml"
    )
    with serve(tmp_path, httpserver.url_for("/crm")) as url:
        problem = httpx.get(url + "/v1/customers/1").json()
    assert problem["detail"] == "CustomerId must be positive (see http://docs.example/crm)"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_backend_url_with_credentials_shows_only_its_origin(
    tmp_path: Path, json_log: JsonLog
) -> None:
    port = closed_port()
    address = f"http://sa:hunter2@127.0.0.1:{port}/srv/crm/endpoint?token=hunter2"
    with serve(tmp_path, address) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == 502
    assert answer.json()["type"] == "urn:facade:problem:backend-unreachable"
    err, lines = log_lines(json_log)
    assert_clean(answer.text, err)
    assert "sa:" not in err and f"{port}" not in answer.text
    [failed] = [line for line in lines if line["message"].startswith("backend failure")]
    assert failed["origin"] == f"http://127.0.0.1:{port}"


def explode(request: MemoryRequest) -> Reply:
    raise RuntimeError(f"password=hunter2 while calling http://sa:x@10.20.30.40 /srv/crm/{TRACE}")


@pytest.mark.parametrize("client_id", ["trace-me-0001", None])
def test_an_unexpected_exception_is_a_500_whose_request_id_the_log_carries(
    tmp_path: Path, json_log: JsonLog, client_id: str | None
) -> None:
    headers = {"X-Request-ID": client_id} if client_id else {}
    with serve(tmp_path, "http://127.0.0.1:9/crm", MemoryTransport(explode)) as url:
        answer = httpx.get(url + "/v1/customers/1", headers=headers)
    assert answer.status_code == 500
    problem = answer.json()
    assert problem["type"] == "urn:facade:problem:internal-error"
    request_id = answer.headers["x-request-id"]
    assert problem["request_id"] == request_id
    if client_id:
        assert request_id == client_id
    err, lines = log_lines(json_log)
    assert_clean(answer.text, err)  # neither the facade's log nor the server's traceback
    assert "RuntimeError" not in answer.text
    [error] = [line for line in lines if line["message"] == "unexpected error"]
    assert error["request_id"] == request_id and error["level"] == "error"
    assert error["error"] == "RuntimeError" and error["where"].startswith("test_error_hygiene.py")
    [access] = [line for line in lines if line["message"] == "request"]
    assert access["request_id"] == request_id and access["status"] == 500


def test_the_traceback_is_logged_at_debug_only(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    log = JsonLog(capfd, logging.DEBUG)
    try:
        with serve(tmp_path, "http://127.0.0.1:9/crm", MemoryTransport(explode)) as url:
            assert httpx.get(url + "/v1/customers/1").status_code == 500
    finally:
        JsonLog.reset()
    err, lines = log.read()
    [debug] = [line for line in lines if line["level"] == "debug"]
    assert "Traceback" in debug["error"] and "RuntimeError" in debug["error"]
