"""A backend that is down when the facade starts: the facade starts, /readyz names the
routes that depend on it, and the other routes serve."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from facades import facade_for
from soap_peer import GET_CUSTOMER, SoapPeer, route


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_backend_down_at_start_degrades_only_its_routes(tmp_path: Path) -> None:
    lost = route(
        "GET", "/v1/lost/{id}", "GetCustomer", {"CustomerId": "path.id"}, address="${LOST_URL}"
    )
    with SoapPeer() as peer:
        env = {"CRM_URL": peer.url, "LOST_URL": f"http://127.0.0.1:{closed_port()}/crm"}
        mappings = {"get-customer": GET_CUSTOMER, "lost-customer": lost}
        with facade_for(tmp_path, mappings, env) as url:
            ready = httpx.get(f"{url}/readyz")
            served = httpx.get(f"{url}/v1/customers/1")
            failed = httpx.get(f"{url}/v1/lost/1")
    assert (ready.status_code, ready.json()["ready"]) == (200, True)
    assert ready.json()["degraded"] == ["lost-customer"]
    by_route = {tuple(b["routes"]): b for b in ready.json()["backends"]}
    assert by_route[("lost-customer",)]["reachable"] is False
    assert by_route[("get-customer",)]["reachable"] is True
    assert "127.0.0.1" in by_route[("lost-customer",)]["origin"]
    assert served.status_code == 200
    assert failed.json()["type"] == "urn:facade:problem:backend-unreachable"
    assert not peer.calls or {call.action for call in peer.calls} == {"GetCustomer"}


def test_a_backend_that_comes_back_is_no_longer_reported(tmp_path: Path) -> None:
    """Reachability follows the calls: the first answer clears the startup finding."""
    port = closed_port()
    address = f"http://127.0.0.1:{port}/crm"
    with facade_for(tmp_path, {"get-customer": GET_CUSTOMER}, {"CRM_URL": address}) as url:
        assert httpx.get(f"{url}/readyz").json()["degraded"] == ["get-customer"]
        with SoapPeer(port):  # the backend comes up where the mapping says
            assert httpx.get(f"{url}/v1/customers/1").status_code == 200
            assert httpx.get(f"{url}/readyz").json()["degraded"] == []
