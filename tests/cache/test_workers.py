"""A purge reaches every worker of `facade serve --workers 2`: the facade as a real process
in front of a SOAP peer whose answer changes when the test says so."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import yaml
from processes import free_port, process
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response
from wsdls import envelope

ROOT = Path(__file__).resolve().parents[2]
CRM = "http://example.com/crm"
TOKEN = "workers-token-3"
MAX_REQUESTS = 400
"""New connections tried until both workers have shown themselves (each calls the peer
once to fill its own entry); the kernel spreads connections, so a few dozen do it."""
WORKERS_STARTUP = 120.0
"""Two workers each load the WSDLs; on a machine shared by many test runs that can take more
than the usual 30 s (a bound on waiting, not a timing)."""

MAPPING = {
    "route": {"method": "GET", "path": "/v1/count/{id}"},
    "legacy": {
        "wsdl": "crm.wsdl",
        "operation": "SearchCustomers",
        "address": "${CRM_URL}",
        "request": {"Name": "path.id"},
        "response": "{total: Total}",
    },
    "cache": {"ttl": 600, "public": True},
}


class Peer:
    """Answers `version`; counts its calls."""

    def __init__(self) -> None:
        self.version = 1
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.calls += 1
            version = self.version
        inner = f"<c:Customers/><c:Total>{version}</c:Total>"
        text = envelope(
            f'<c:SearchCustomersResponse xmlns:c="{CRM}">{inner}</c:SearchCustomersResponse>'
        )
        return Response(text, content_type="text/xml; charset=utf-8")


def until_both_workers_called(base: str, peer: Peer, calls: int, expected: int) -> None:
    """Requests on new connections until the peer has `calls` calls; every answer must be
    `expected` (an answer from before a purge would be a worker that missed it)."""
    for _ in range(MAX_REQUESTS):
        response = httpx.get(f"{base}/v1/count/1", headers={"Connection": "close"})
        assert response.status_code == 200
        assert response.json() == {"total": expected}, response.headers
        if peer.calls >= calls:
            return
    raise AssertionError(f"the peer had {peer.calls} calls; both workers never answered")


def test_a_purge_reaches_every_worker(tmp_path: Path, httpserver: HTTPServer) -> None:
    peer = Peer()
    httpserver.expect_request("/crm").respond_with_handler(peer)
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "count.yaml").write_text(yaml.safe_dump(MAPPING), encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--mappings", str(folder), "--wsdl", str(ROOT / "wsdl")]
    args += ["--port", str(port), "--workers", "2"]
    env: dict[str, Any] = {"FACADE_ADMIN_TOKEN": TOKEN, "CRM_URL": httpserver.url_for("/crm")}
    with process(args, f"{base}/readyz", env, startup=WORKERS_STARTUP):
        until_both_workers_called(base, peer, 2, expected=1)
        peer.version = 2
        purged = httpx.post(
            f"{base}/admin/cache/purge",
            json={"route": "count"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert purged.status_code == 200
        assert purged.json()["purged"] == 1 and purged.json()["scope"] == "all workers"
        until_both_workers_called(base, peer, 4, expected=2)
    assert peer.calls == 4
