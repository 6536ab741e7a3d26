"""Mapped requests go around the framework's stack (facade/dispatch.py), the facade's own
paths and unknown paths through it, and both ways answer, count and log alike.

The facade runs under uvicorn on loopback; the SOAP backend is a MemoryTransport, so what
reached it is counted exactly.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from servers import serve_in_thread
from starlette.routing import Route
from wsdls import envelope

from facade.app import create_app
from facade.dispatch import own_paths
from facade.mapping.loader import load_mappings
from facade.net import MemoryTransport, Reply
from facade.net.memory import MemoryRequest
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
CRM = "http://example.com/crm"
BURST = 500
CUSTOMER = f"""<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer>
  <c:Id>7</c:Id><c:Name>Ada</c:Name><c:Status>active</c:Status><c:Balance>1.50</c:Balance>
  <c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt>
  <c:Address><c:Street>x</c:Street><c:City>London</c:City><c:PostalCode>p</c:PostalCode>
    <c:Country>GB</c:Country></c:Address>
</c:Customer></c:GetCustomerResponse>"""


def mapping(method: str, path: str, customer: str = "path.id") -> dict[str, Any]:
    return {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://127.0.0.1:9/crm",
            "request": {"CustomerId": customer},
            "response": "Customer.{id: Id, name: Name}",
        },
    }


def _answer(request: MemoryRequest) -> Reply:
    body = envelope(CUSTOMER).encode()
    return Reply(200, {"content-type": "text/xml; charset=utf-8"}, body, 0.0)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, MemoryTransport]]:
    folder = tmp_path_factory.mktemp("dispatch")
    documents = {
        "get-customer": mapping("GET", "/v1/customers/{id}"),
        # a write on the facade's own health path: GET /healthz stays the facade's
        "post-health": mapping("POST", "/healthz", "`7`"),
    }
    for name, document in documents.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(folder, {}), registry)
    transport = MemoryTransport(_answer)
    with serve_in_thread(create_app(table, registry, transport=transport)) as url:
        yield url, transport


def test_own_paths_are_the_framework_routes_and_the_prefixes_of_parametrised_ones() -> None:
    async def nothing(scope: Any, receive: Any, send: Any) -> None: ...

    own = own_paths([Route("/healthz", nothing), Route("/admin/flags/{route}", nothing)])
    assert "/healthz" in own and "/admin/flags/get-customer" in own
    assert "/healthz/x" not in own and "/v1/customers/1" not in own and None not in own


def test_a_mapped_path_is_served_and_the_facade_keeps_its_own(
    served: tuple[str, MemoryTransport],
) -> None:
    url, transport = served
    calls = len(transport.requests)
    with httpx.Client(base_url=url, trust_env=False) as client:
        mapped = client.get("/v1/customers/7", headers={"X-Request-ID": "mapped-1"})
        health = client.get("/healthz")
        written = client.post("/healthz")
        unknown = client.get("/v1/nothing/here")
        wrong_method = client.put("/v1/customers/7")
    assert (mapped.status_code, mapped.json()) == (200, {"id": 7, "name": "Ada"})
    assert mapped.headers["x-request-id"] == "mapped-1"
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert written.status_code == 200 and written.json() == {"id": 7, "name": "Ada"}
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["type"] == "urn:facade:problem:not-found"
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "GET, HEAD"
    assert len(transport.requests) == calls + 2  # the two mapped calls, nothing else


def _count(metrics: str, status: str) -> float:
    labels = f'route="get-customer",side="legacy",status="{status}"'
    found = re.search(rf"^facade_requests_total\{{{labels}\}} (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_a_burst_of_mapped_requests_is_answered_and_counted_once_each(
    served: tuple[str, MemoryTransport],
) -> None:
    url, transport = served

    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
            return await asyncio.gather(*(client.get(f"/v1/customers/{i}") for i in range(BURST)))

    before = httpx.get(f"{url}/metrics", trust_env=False).text
    calls = len(transport.requests)
    answers = asyncio.run(burst())
    after = httpx.get(f"{url}/metrics", trust_env=False).text
    assert [a.status_code for a in answers] == [200] * BURST
    assert len({a.headers["x-request-id"] for a in answers}) == BURST
    assert len(transport.requests) == calls + BURST
    assert _count(after, "200") == _count(before, "200") + BURST
