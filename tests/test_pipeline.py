"""The pipeline without sockets: the legacy backend over the in-memory transport."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from wsdls import SOAP11_ENV, envelope

from facade.backends.base import BackendReply
from facade.backends.legacy import LegacyBackend
from facade.backends.translator import OFF_LOOP_BYTES
from facade.context import RequestContext
from facade.mapping.loader import load_mappings
from facade.net import MemoryTransport, Reply
from facade.net.memory import Handler, MemoryRequest
from facade.pipeline import Failure, Outcome, ServedRoute, handle
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
CRM = "http://example.com/crm"
XML = {"content-type": "text/xml; charset=utf-8"}


def customer(number: int) -> str:
    return (
        f"<c:Customer><c:Id>{number}</c:Id><c:Name>Customer {number}</c:Name>"
        f"<c:Status>active</c:Status><c:Balance>{number}.50</c:Balance>"
        "<c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt>"
        "<c:Address><c:Street>s</c:Street><c:City>c</c:City><c:PostalCode>p</c:PostalCode>"
        "<c:Country>GB</c:Country></c:Address></c:Customer>"
    )


def reply(inner: str, status: int = 200) -> Reply:
    return Reply(status, XML, envelope(inner).encode())


MAPPINGS: dict[str, dict[str, Any]] = {
    "get-customer": {
        "route": {"method": "GET", "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://crm.internal/crm",
            "request": {"CustomerId": "path.id"},
            "response": "Customer.{id: Id, name: Name}",
            "faults": {"CustomerNotFound": 404},
            "timeout": 0.5,
            "max_reply_bytes": 4096,
        },
    },
    "search-customers": {
        "route": {"method": "GET", "path": "/v1/customers"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "SearchCustomers",
            "address": "http://crm.internal/crm",
            "request": {"Name": "query.name"},
            "response": "{total: Total, ids: Customers.Customer[].Id}",
        },
    },
}


def serve(tmp_path: Path, name: str, handler: Handler) -> tuple[ServedRoute, MemoryTransport]:
    for file, document in MAPPINGS.items():
        (tmp_path / f"{file}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    table = build_route_table(load_mappings(tmp_path), WsdlRegistry(ROOT / "wsdl"))
    [route] = [r for r in table if r.name == name]
    transport = MemoryTransport(handler)
    return ServedRoute(route, table.validators[name], LegacyBackend(route, transport)), transport


def run(served: ServedRoute, **request: Any) -> Outcome:
    context = RequestContext(route=served.name, request_id="req-1", **request)
    return asyncio.run(handle(served, context))


def test_answer_is_a_reply_value_from_the_legacy_side(tmp_path: Path) -> None:
    wrapped = f'<c:GetCustomerResponse xmlns:c="{CRM}">{customer(7)}</c:GetCustomerResponse>'
    served, transport = serve(tmp_path, "get-customer", lambda request: reply(wrapped))
    outcome = run(served, path={"id": "7"})
    assert isinstance(outcome, BackendReply)
    assert (outcome.status, outcome.body, outcome.side) == (
        200,
        {"id": 7, "name": "Customer 7"},
        "legacy",
    )
    assert outcome.elapsed > 0
    [sent] = transport.requests
    assert (sent.method, sent.url) == ("POST", "http://crm.internal/crm")
    assert sent.headers["x-request-id"] == "req-1"
    assert b"<ns0:CustomerId>7</ns0:CustomerId>" in (sent.content or b"")


def test_invalid_request_fails_before_any_side_is_chosen(tmp_path: Path) -> None:
    served, transport = serve(tmp_path, "get-customer", lambda request: reply(""))
    outcome = run(served, path={"id": "seven"})
    assert isinstance(outcome, Failure)
    assert outcome.side is None
    assert outcome.error.status == 422
    assert transport.requests == []


def test_failures_carry_their_side_without_touching_the_error(tmp_path: Path) -> None:
    async def slow(request: MemoryRequest) -> Reply:
        await asyncio.sleep(5)
        return reply("")

    served, _ = serve(tmp_path, "get-customer", slow)
    outcome = run(served, path={"id": "1"})
    assert isinstance(outcome, Failure)
    assert (outcome.side, outcome.error.status, outcome.error.slug) == (
        "legacy",
        504,
        "backend-timeout",
    )
    assert not hasattr(outcome.error, "side")


def test_reply_over_the_routes_cap_is_a_502(tmp_path: Path) -> None:
    big = f'<c:GetCustomerResponse xmlns:c="{CRM}">{customer(1) * 40}</c:GetCustomerResponse>'
    served, _ = serve(tmp_path, "get-customer", lambda request: reply(big))
    outcome = run(served, path={"id": "1"})
    assert isinstance(outcome, Failure)
    assert outcome.error.slug == "backend-reply-too-large"
    assert outcome.side == "legacy"


def test_large_reply_is_translated_whole(tmp_path: Path) -> None:
    count = 600
    customers = "".join(customer(i) for i in range(count))
    body = (
        f'<c:SearchCustomersResponse xmlns:c="{CRM}"><c:Customers>{customers}</c:Customers>'
        f"<c:Total>{count}</c:Total></c:SearchCustomersResponse>"
    )
    assert len(envelope(body)) > OFF_LOOP_BYTES
    served, _ = serve(tmp_path, "search-customers", lambda request: reply(body))
    outcome = run(served, query={"name": "x"})
    assert isinstance(outcome, BackendReply)
    assert outcome.body == {"total": count, "ids": list(range(count))}


FAULT = """<s:Fault xmlns:s="{env}"><faultcode>s:{code}</faultcode>
  <faultstring>{text}</faultstring><detail>{detail}</detail></s:Fault>"""
NOT_FOUND_DETAIL = (
    f'<c:CustomerNotFound xmlns:c="{CRM}"><c:CustomerId>42</c:CustomerId></c:CustomerNotFound>'
)


@pytest.mark.parametrize(
    ("code", "detail", "status", "shown"),
    [
        ("Client", NOT_FOUND_DETAIL, 404, {"code", "message", "detail"}),
        ("Client", "<trace>at Db.java:42</trace>", 400, {"code", "message"}),
        ("Server", "<trace>at Db.java:42</trace>", 502, None),
    ],
)
def test_fault_text_is_shown_only_as_far_as_the_mapping_maps_it(
    tmp_path: Path, code: str, detail: str, status: int, shown: set[str] | None
) -> None:
    fault = FAULT.format(env=SOAP11_ENV, code=code, text="db01.internal: NPE", detail=detail)
    served, _ = serve(tmp_path, "get-customer", lambda request: reply(fault, 500))
    outcome = run(served, path={"id": "42"})
    assert isinstance(outcome, Failure)
    error = outcome.error
    assert (error.status, outcome.side) == (status, "legacy")
    extensions = error.extensions()
    if shown is None:
        assert extensions == {}
        assert "db01" not in error.detail
    else:
        assert set(extensions["fault"]) == shown
        assert error.detail == "db01.internal: NPE"
