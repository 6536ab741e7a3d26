"""Credentials toward legacy: what arrives at a real peer on loopback, and where secrets
must never show (mapping files, check output, errors, logs, the admin API).

The facade runs under uvicorn (tests/facades.py) in front of pytest-httpserver, which
records each SOAP request and answers a canned GetCustomer reply.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import signal
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
import yaml
from bursts import Answer, burst_client
from facades import facade_for
from lxml import etree
from processes import free_port, process
from pytest_httpserver import HTTPServer
from reloading import wait_for
from servers import PromptHTTPServer, serve_in_thread
from typer.testing import CliRunner
from werkzeug import Request, Response
from wsdls import envelope

from facade.app import create_app
from facade.cli import app as cli
from facade.config.loader import load_config
from facade.errors import ConfigError
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry
from facade.sources import build_from_folders

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
ADMIN = "admin-token-for-the-test-0123456789"  # noqa: S105
PASSWORD = "s3cr3t-Pa55-for-legacy"  # noqa: S105 - what the tests look for
ADA = f"""<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer>
  <c:Id>1</c:Id><c:Name>Ada</c:Name><c:Status>active</c:Status><c:Balance>1.50</c:Balance>
  <c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt>
  <c:Address><c:Street>x</c:Street><c:City>London</c:City><c:PostalCode>p</c:PostalCode>
    <c:Country>GB</c:Country></c:Address>
</c:Customer></c:GetCustomerResponse>"""


def mapping(address: str, **legacy: Any) -> dict[str, Any]:
    return {
        "route": {"method": "GET", "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": address,
            "request": {"CustomerId": "path.id"},
            "response": "Customer.{id: Id, name: Name}",
            **legacy,
        },
    }


class Recorder:
    """Answers every SOAP call with ADA and keeps what arrived."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        self.bodies.append(request.get_data())
        return Response(envelope(ADA), content_type="text/xml; charset=utf-8")


@pytest.fixture
def recorder(httpserver: HTTPServer) -> Recorder:
    recording = Recorder()
    httpserver.expect_request("/crm", method="POST").respond_with_handler(recording)
    return recording


def soap_header(body: bytes) -> etree._Element:
    root = etree.fromstring(body)
    header = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Header")
    assert header is not None, body
    return header


# HTTP basic


def test_basic_auth_from_the_environment_reaches_the_backend(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    auth = {"basic": {"username": "facade", "password": "${CRM_PASSWORD}"}}
    document = mapping(httpserver.url_for("/crm"), auth=auth)
    with facade_for(tmp_path, {"get-customer": document}, {"CRM_PASSWORD": PASSWORD}) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == 200, answer.text
    expected = base64.b64encode(f"facade:{PASSWORD}".encode()).decode()
    assert recorder.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_basic_auth_password_from_a_file_next_to_the_mapping(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    (tmp_path / "crm-password").write_text(PASSWORD + "\n", encoding="utf-8")
    auth = {"basic": {"username": "facade", "password": "file:crm-password"}}
    document = mapping(httpserver.url_for("/crm"), auth=auth)
    with facade_for(tmp_path, {"get-customer": document}, {}) as url:
        assert httpx.get(url + "/v1/customers/1").status_code == 200
    sent = base64.b64decode(recorder.requests[0].headers["Authorization"].split()[1])
    assert sent == f"facade:{PASSWORD}".encode()  # the file's newline is not part of it


# WS-Security UsernameToken


def token_of(body: bytes) -> etree._Element:
    token = soap_header(body).find(f"{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    assert token is not None, body
    return token


def test_username_token_with_password_text(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    auth = {"username_token": {"username": "facade", "password": "${WSSE_PASSWORD}"}}
    document = mapping(httpserver.url_for("/crm"), auth=auth)
    with facade_for(tmp_path, {"get-customer": document}, {"WSSE_PASSWORD": PASSWORD}) as url:
        assert httpx.get(url + "/v1/customers/1").json() == {"id": 1, "name": "Ada"}
    token = token_of(recorder.bodies[0])
    assert token.findtext(f"{{{WSSE}}}Username") == "facade"
    password = token.find(f"{{{WSSE}}}Password")
    assert password is not None and password.text == PASSWORD
    assert password.get("Type", "").endswith("#PasswordText")


def test_username_token_digest_is_fresh_and_verifies(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    auth = {
        "username_token": {"username": "facade", "password": "${WSSE_PASSWORD}", "digest": True}
    }
    document = mapping(httpserver.url_for("/crm"), auth=auth)
    with facade_for(tmp_path, {"get-customer": document}, {"WSSE_PASSWORD": PASSWORD}) as url:
        for _ in range(2):
            assert httpx.get(url + "/v1/customers/1").status_code == 200
    nonces = set()
    for body in recorder.bodies:
        assert PASSWORD.encode() not in body
        token = token_of(body)
        password = token.find(f"{{{WSSE}}}Password")
        assert password is not None and password.get("Type", "").endswith("#PasswordDigest")
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = token.findtext(f"{{{WSU}}}Created") or ""
        digest = hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()  # noqa: S324
        assert password.text == base64.b64encode(digest).decode()
        nonces.add(nonce)
    assert len(nonces) == 2  # a replayed token would be refused by the legacy system


# SOAP headers from the request context


def test_soap_headers_filled_from_the_request(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    headers = {
        "{urn:example:ctx}Tenant": 'headers."x-tenant"',
        "{urn:example:ctx}Customer": "path.id",
        "{urn:example:ctx}Channel": "'mobile'",
        "{urn:example:ctx}Missing": 'headers."x-absent"',
    }
    document = mapping(httpserver.url_for("/crm"), soap_headers=headers)
    with facade_for(tmp_path, {"get-customer": document}, {}) as url:
        tenant = "acme </Tenant><Admin>1</Admin>"
        answer = httpx.get(url + "/v1/customers/7", headers={"x-tenant": tenant})
    assert answer.status_code == 200
    header = soap_header(recorder.bodies[0])
    values = {etree.QName(child).text: child.text for child in header}
    assert values == {
        "{urn:example:ctx}Tenant": tenant,  # text, never markup
        "{urn:example:ctx}Customer": "7",
        "{urn:example:ctx}Channel": "mobile",
    }


def test_soap_header_refuses_a_value_xml_cannot_carry(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    document = mapping(
        httpserver.url_for("/crm"), soap_headers={"{urn:example:ctx}Note": "query.note"}
    )
    with facade_for(tmp_path, {"get-customer": document}, {}) as url:
        answer = httpx.get(url + "/v1/customers/7", params={"note": "bell\x07"})
        listed = httpx.get(url + "/v1/customers/7?note=a&note=b")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "{urn:example:ctx}Note"
    assert listed.status_code == 422
    assert recorder.requests == []


# TLS: a self-signed legacy server that asks for a client certificate


@pytest.fixture
def tls_backend(tmp_path: Path) -> Iterator[tuple[HTTPServer, trustme.CA, Recorder]]:
    ca = trustme.CA()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca.configure_trust(server_context)
    server_context.verify_mode = ssl.CERT_REQUIRED
    server = PromptHTTPServer(host="127.0.0.1", port=0, ssl_context=server_context)
    recording = Recorder()
    server.expect_request("/crm", method="POST").respond_with_handler(recording)
    server.start()
    try:
        yield server, ca, recording
    finally:
        server.clear()
        server.stop()


def write_pems(folder: Path, ca: trustme.CA) -> dict[str, str]:
    client = ca.issue_cert("facade-client.example")
    client.private_key_pem.write_to_path(str(folder / "client.key"))
    client.cert_chain_pems[0].write_to_path(str(folder / "client.pem"))
    ca.cert_pem.write_to_path(str(folder / "legacy-ca.pem"))
    return {"cert": "client.pem", "key": "client.key", "ca": "legacy-ca.pem"}


def test_client_certificate_reaches_a_tls_backend(
    tmp_path: Path, tls_backend: tuple[HTTPServer, trustme.CA, Recorder]
) -> None:
    server, ca, recording = tls_backend
    tls = write_pems(tmp_path, ca)
    document = mapping(server.url_for("/crm"), auth={"tls": tls})
    assert document["legacy"]["address"].startswith("https://127.0.0.1:")
    with facade_for(tmp_path, {"get-customer": document}, {}) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == 200, answer.text
    peer = recording.requests[0].environ["SSL_CLIENT_CERT"]
    assert ssl.PEM_cert_to_DER_cert(peer) == ssl.PEM_cert_to_DER_cert(
        (tmp_path / "client.pem").read_text()
    )


def test_without_the_client_certificate_the_tls_backend_refuses(
    tmp_path: Path, tls_backend: tuple[HTTPServer, trustme.CA, Recorder]
) -> None:
    server, ca, recording = tls_backend
    tls = write_pems(tmp_path, ca)
    document = mapping(server.url_for("/crm"), auth={"tls": {"ca": tls["ca"]}})
    with facade_for(tmp_path, {"get-customer": document}, {}) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == 502
    assert recording.requests == []
    assert "127.0.0.1" not in answer.text and "ssl" not in answer.text.lower()


def test_a_self_signed_backend_is_refused_without_its_ca(
    tmp_path: Path, tls_backend: tuple[HTTPServer, trustme.CA, Recorder]
) -> None:
    server, ca, recording = tls_backend
    tls = write_pems(tmp_path, ca)
    document = mapping(
        server.url_for("/crm"), auth={"tls": {"cert": tls["cert"], "key": "client.key"}}
    )
    with facade_for(tmp_path, {"get-customer": document}, {}) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == 502
    assert answer.json()["type"] == "urn:facade:problem:backend-unreachable"
    assert recording.requests == []


# What `facade check` refuses, with file and field, never showing a secret


def check(tmp_path: Path, document: dict[str, Any], env: dict[str, str] | None = None) -> str:
    folder = tmp_path / "mappings"
    folder.mkdir(exist_ok=True)
    (folder / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    args = ["check", "--mappings", str(folder), "--wsdl", str(ROOT / "wsdl")]
    result = CliRunner().invoke(cli, args, env=env or {})
    assert result.exit_code == 1, result.output
    return result.output


@pytest.mark.parametrize(
    ("auth", "field"),
    [
        ({"basic": {"username": "u", "password": PASSWORD}}, "legacy.auth.basic.password"),
        (
            {"username_token": {"username": "u", "password": PASSWORD}},
            "legacy.auth.username_token.password",
        ),
        (
            {"basic": {"username": "u", "password": "${NOPE:-" + PASSWORD + "}"}},
            "legacy.auth.basic.password",
        ),
    ],
)
def test_check_refuses_a_literal_secret(tmp_path: Path, auth: dict[str, Any], field: str) -> None:
    output = check(tmp_path, mapping("http://127.0.0.1:9/crm", auth=auth))
    assert f"get-customer.yaml: {field}: is written literally" in output
    assert PASSWORD not in output


def test_check_reports_a_secret_that_cannot_be_read(tmp_path: Path) -> None:
    auth = {
        "basic": {"username": "u", "password": "${CRM_PASSWORD}"},
        "username_token": {"username": "u", "password": "file:missing-password"},
    }
    output = check(tmp_path, mapping("http://127.0.0.1:9/crm", auth=auth))
    assert "legacy.auth.basic.password: environment variable CRM_PASSWORD is not set" in output
    assert "legacy.auth.username_token.password: cannot read" in output


def test_check_refuses_tls_files_that_do_not_load(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "client.pem").write_text("not a certificate", encoding="utf-8")
    (folder / "client.key").write_text("not a key", encoding="utf-8")
    tls = {"cert": "client.pem", "key": "client.key"}
    output = check(tmp_path, mapping("https://127.0.0.1:9/crm", auth={"tls": tls}))
    assert "legacy.auth.tls: the client certificate" in output
    only_cert = {"cert": "client.pem"}
    output = check(tmp_path, mapping("https://127.0.0.1:9/crm", auth={"tls": only_cert}))
    assert "legacy.auth.tls: give cert and key together" in output


def test_check_refuses_tls_on_an_http_address(tmp_path: Path) -> None:
    ca = trustme.CA()
    folder = tmp_path / "mappings"
    folder.mkdir()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    output = check(tmp_path, mapping("http://127.0.0.1:9/crm", auth={"tls": {"ca": "ca.pem"}}))
    assert "legacy.auth.tls: applies to https addresses only" in output


def test_one_origin_cannot_have_two_sets_of_tls_files(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "a.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "b.pem"))
    first = mapping("https://127.0.0.1:9/crm", auth={"tls": {"ca": "a.pem"}})
    second = {**mapping("https://127.0.0.1:9/crm", auth={"tls": {"ca": "b.pem"}})}
    second["route"] = {"method": "GET", "path": "/v1/other/{id}"}
    for name, document in (("first", first), ("second", second)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        build_route_table(load_mappings(tmp_path, {}), WsdlRegistry(ROOT / "wsdl"))
    assert "give them the same" in str(caught.value)


def test_check_refuses_soap_header_names_and_expressions_that_make_no_sense(
    tmp_path: Path,
) -> None:
    headers = {"not a name": "path.id", "{urn:x}Ok": "bogus.id", "{urn:x}Bad": "path.[["}
    output = check(tmp_path, mapping("http://127.0.0.1:9/crm", soap_headers=headers))
    assert "legacy.soap_headers: 'not a name' must be an element name" in output
    headers = {"{urn:x}Ok": "bogus.id", "{urn:x}Bad": "path.[["}
    output = check(tmp_path, mapping("http://127.0.0.1:9/crm", soap_headers=headers))
    assert "legacy.soap_headers.{urn:x}Ok: 'bogus.id' must start with one of" in output
    assert "legacy.soap_headers.{urn:x}Bad: is not a valid JMESPath expression" in output


# Secrets never show: in the route values, errors, logs and the admin API


def test_secret_never_shows_in_errors_logs_or_admin(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/crm", method="POST").respond_with_data(
        "<html><body>denied</body></html>", status=401, content_type="text/html"
    )
    auth = {
        "basic": {"username": "facade", "password": "${CRM_PASSWORD}"},
        "username_token": {"username": "facade", "password": "${CRM_PASSWORD}"},
    }
    document = mapping(httpserver.url_for("/crm"), auth=auth)
    routes = load_mappings(_written(tmp_path, document), {"CRM_PASSWORD": PASSWORD})
    assert PASSWORD not in repr(routes) and PASSWORD not in str(routes)
    registry = WsdlRegistry(ROOT / "wsdl")
    app = create_app(build_route_table(routes, registry), registry, Settings(admin_token=ADMIN))
    with caplog.at_level(logging.DEBUG, logger="facade"):
        with serve_in_thread(app) as url:
            answer = httpx.get(url + "/v1/customers/1")
            status = httpx.get(url + "/admin/status", headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code == 502 and status.status_code == 200
    assert len(httpserver.log) == 1  # the backend was called, with the credentials
    encoded = base64.b64encode(f"facade:{PASSWORD}".encode()).decode()
    for text in (answer.text, str(answer.headers), status.text, caplog.text):
        assert PASSWORD not in text and encoded not in text


def _written(folder: Path, document: dict[str, Any]) -> Path:
    target = folder / "loaded"
    target.mkdir()
    (target / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return target


# a burst: every call signed on its own, with its own header values

BURST = 300


async def _burst(url: str) -> list[Answer]:
    async with burst_client(url, connections=BURST, timeout=150) as client:
        calls = [
            client.get(f"/v1/customers/{i}", headers={"x-tenant": f"tenant-{i}"})
            for i in range(BURST)
        ]
        return await asyncio.gather(*calls)


def test_a_burst_gets_a_fresh_token_and_its_own_headers_per_call(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    auth = {
        "username_token": {"username": "facade", "password": "${WSSE_PASSWORD}", "digest": True},
        "basic": {"username": "facade", "password": "${WSSE_PASSWORD}"},
    }
    headers = {"{urn:example:ctx}Tenant": 'headers."x-tenant"', "{urn:example:ctx}Id": "path.id"}
    # The recording peer answers one call at a time: the deadline covers the whole queue,
    # since what is measured here is signing, not speed.
    document = mapping(httpserver.url_for("/crm"), auth=auth, soap_headers=headers, timeout=120)
    with facade_for(tmp_path, {"get-customer": document}, {"WSSE_PASSWORD": PASSWORD}) as url:
        answers = asyncio.run(_burst(url))
    assert [answer.status_code for answer in answers] == [200] * BURST
    pairs, nonces = set(), set()
    for body in recorder.bodies:
        values = {etree.QName(child).localname: child.text for child in soap_header(body)}
        pairs.add((values["Tenant"], values["Id"]))
        token = token_of(body)
        nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
        created = token.findtext(f"{{{WSU}}}Created") or ""
        digest = hashlib.sha1(nonce + created.encode() + PASSWORD.encode()).digest()  # noqa: S324
        assert token.findtext(f"{{{WSSE}}}Password") == base64.b64encode(digest).decode()
        nonces.add(nonce)
    assert pairs == {(f"tenant-{i}", str(i)) for i in range(BURST)}  # none lost or mixed up
    assert len(nonces) == BURST


# Per WSDL, from facade.yaml's `legacy:` section: a route's own `legacy.auth` wins whole


BASIC = {"basic": {"username": "${CRM_USER}", "password": "${CRM_PASSWORD}"}}
ENV = {"CRM_USER": "facade", "CRM_PASSWORD": PASSWORD, "WSSE_PASSWORD": "route-" + PASSWORD}


def basic_sent(recorder: Recorder, index: int) -> str | None:
    header = recorder.requests[index].headers.get("Authorization")
    return None if header is None else base64.b64decode(header.split()[1]).decode()


def routes(address: str) -> dict[str, dict[str, Any]]:
    """Three routes of crm.wsdl: one saying nothing, one with its own credentials, one
    saying it sends none."""
    own = {"username_token": {"username": "route", "password": "${WSSE_PASSWORD}"}}
    return {
        "plain": mapping(address),
        "own": with_path(mapping(address, auth=own), "/v1/own/{id}"),
        "none": with_path(mapping(address, auth={}), "/v1/none/{id}"),
    }


def with_path(document: dict[str, Any], path: str) -> dict[str, Any]:
    return {**document, "route": {**document["route"], "path": path}}


def test_the_wsdls_credentials_reach_routes_without_their_own(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    config = {"legacy": {"crm.wsdl": {"auth": BASIC}}}
    with facade_for(folder, routes(httpserver.url_for("/crm")), ENV, config=config) as url:
        for path in ("/v1/customers/1", "/v1/own/1", "/v1/none/1"):
            answer = httpx.get(url + path)
            assert answer.status_code == 200, (path, answer.text)
    assert basic_sent(recorder, 0) == f"facade:{PASSWORD}"  # ${VAR} in the username too
    assert basic_sent(recorder, 1) is None  # its own section wins whole: no basic
    assert token_of(recorder.bodies[1]).findtext("{*}Password") == "route-" + PASSWORD
    assert basic_sent(recorder, 2) is None  # `auth: {}`: no credentials at all
    assert b"UsernameToken" not in recorder.bodies[0] + recorder.bodies[2]


def test_a_password_file_is_read_relative_to_facade_yaml(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    (tmp_path / "crm-password").write_text(PASSWORD + "\n", encoding="utf-8")
    auth = {"username_token": {"username": "facade", "password": "file:crm-password"}}
    config = {"legacy": {"crm.wsdl": {"auth": auth}}}
    documents = {"get-customer": mapping(httpserver.url_for("/crm"))}
    with facade_for(folder, documents, {}, config=config) as url:
        assert httpx.get(url + "/v1/customers/1").json() == {"id": 1, "name": "Ada"}
    token = token_of(recorder.bodies[0])
    assert token.findtext("{*}Username") == "facade"
    assert token.findtext("{*}Password") == PASSWORD  # the file's newline left out


def test_the_wsdls_client_certificate_reaches_a_tls_backend(
    tmp_path: Path, tls_backend: tuple[HTTPServer, trustme.CA, Recorder]
) -> None:
    server, ca, recording = tls_backend
    folder = tmp_path / "mappings"
    folder.mkdir()
    tls = write_pems(tmp_path, ca)  # beside facade.yaml
    config = {"legacy": {"crm.wsdl": {"auth": {"tls": tls}}}}
    documents = {"get-customer": mapping(server.url_for("/crm"))}
    with facade_for(folder, documents, {}, config=config) as url:
        answer = httpx.get(url + "/v1/customers/1")
    assert answer.status_code == 200, answer.text
    peer = recording.requests[0].environ["SSL_CLIENT_CERT"]
    assert ssl.PEM_cert_to_DER_cert(peer) == ssl.PEM_cert_to_DER_cert(
        (tmp_path / "client.pem").read_text()
    )


def test_a_build_of_the_folders_applies_them_as_serve_and_reload_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WSSE_PASSWORD", ENV["WSSE_PASSWORD"])  # the mappings read os.environ
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name, document in routes("http://127.0.0.1:9/crm").items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (tmp_path / "facade.yaml").write_text(yaml.safe_dump({"legacy": {"crm.wsdl": {"auth": BASIC}}}))
    config = load_config(tmp_path / "facade.yaml", ENV)
    built = build_from_folders(folder, ROOT / "wsdl", config)
    auth = {route.name: route.mapping.legacy.auth for route in built.table}
    assert auth["plain"] == config.legacy["crm.wsdl"]
    assert auth["own"].basic is None and auth["own"].username_token is not None
    assert auth["none"].basic is None and auth["none"].username_token is None
    assert PASSWORD not in repr(config) + repr(auth)  # Secret('***') wherever it is shown


# What `facade check --config` refuses in the per-WSDL section


def check_config(tmp_path: Path, config: dict[str, Any], env: dict[str, str] | None = None) -> str:
    folder = tmp_path / "mappings"
    folder.mkdir(exist_ok=True)
    document = mapping("http://127.0.0.1:9/crm")
    (folder / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    (tmp_path / "facade.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    args = ["check", "--mappings", str(folder), "--wsdl", str(ROOT / "wsdl")]
    args += ["--config", str(tmp_path / "facade.yaml")]
    result = CliRunner().invoke(cli, args, env=env or {})
    assert result.exit_code == 1, result.output
    return result.output


def test_check_refuses_a_wsdl_no_mapping_names(tmp_path: Path) -> None:
    output = check_config(
        tmp_path, {"legacy": {"crm.wsdl": {"auth": BASIC}, "erp.wsdl": {"auth": BASIC}}}, ENV
    )
    assert (
        f"{tmp_path / 'facade.yaml'}: legacy.erp.wsdl: no mapping names the WSDL 'erp.wsdl' "
        "in legacy.wsdl (they name: crm.wsdl)"
    ) in output
    assert "legacy.crm.wsdl" not in output


def test_check_refuses_a_literal_secret_in_facade_yaml(tmp_path: Path) -> None:
    auth = {"basic": {"username": "u", "password": PASSWORD}}
    output = check_config(tmp_path, {"legacy": {"crm.wsdl": {"auth": auth}}})
    assert "facade.yaml: legacy.crm.wsdl.auth.basic.password: is written literally" in output
    assert PASSWORD not in output


def test_check_reports_secrets_and_files_that_cannot_be_read(tmp_path: Path) -> None:
    auth = {
        "basic": {"username": "u", "password": "${CRM_PASSWORD}"},
        "username_token": {"username": "u", "password": "file:missing-password"},
        "tls": {"ca": "missing-ca.pem"},
    }
    output = check_config(tmp_path, {"legacy": {"crm.wsdl": {"auth": auth}}})
    assert (
        "legacy.crm.wsdl.auth.basic.password: environment variable CRM_PASSWORD is not set"
        in output
    )
    assert "legacy.crm.wsdl.auth.username_token.password: cannot read" in output
    assert "legacy.crm.wsdl.auth.tls.ca:" in output


def test_check_refuses_an_unknown_key_with_its_place(tmp_path: Path) -> None:
    output = check_config(
        tmp_path, {"legacy": {"crm.wsdl": {"auth": BASIC, "soap_header": {}}}}, ENV
    )
    assert "legacy.crm.wsdl.soap_header: unknown key; allowed here: auth" in output


@pytest.mark.e2e
def test_facade_serve_applies_them_at_start_and_after_a_reload(
    tmp_path: Path, httpserver: HTTPServer, recorder: Recorder
) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    address = httpserver.url_for("/crm")
    (folder / "plain.yaml").write_text(yaml.safe_dump(mapping(address)), encoding="utf-8")
    (tmp_path / "facade.yaml").write_text(yaml.safe_dump({"legacy": {"crm.wsdl": {"auth": BASIC}}}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--mappings", str(folder), "--wsdl", str(ROOT / "wsdl")]
    args += ["--config", str(tmp_path / "facade.yaml")]
    with process(args, f"{base}/readyz", ENV) as running:
        assert httpx.get(base + "/v1/customers/1").status_code == 200
        added = with_path(mapping(address), "/v1/added/{id}")
        (folder / "added.yaml").write_text(yaml.safe_dump(added), encoding="utf-8")
        running.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: httpx.get(base + "/v1/added/1").status_code == 200, "the added route")
    assert {basic_sent(recorder, i) for i in range(len(recorder.requests))} == {
        f"facade:{PASSWORD}"
    }
    assert len(recorder.requests) >= 2
