"""The pipeline choosing the new side, over the in-memory transport: which side serves,
what the new service is sent, and the contract check of its answers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from facade.backends.base import BackendReply
from facade.backends.legacy import LegacyBackend
from facade.backends.new import NewBackend
from facade.context import RequestContext
from facade.contracts.conformance import ResponseConformance, Violation
from facade.mapping.loader import load_mappings
from facade.net import MemoryTransport, Reply
from facade.pipeline import Failure, ServedRoute, choose_side, handle
from facade.routetable import RouteTable, build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
JSON = {"content-type": "application/json"}


def table_for(tmp_path: Path, mode: str, method: str = "GET", **migration: Any) -> RouteTable:
    document: dict[str, Any] = {
        "route": {"method": method, "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://crm.internal/crm",
            "request": {"CustomerId": "path.id"},
            "response": "Customer.{id: Id, name: Name}",
        },
        "new": {
            "url": "http://new.internal/customers/{path.id}",
            "method": "PUT",
            "headers": ["x-user-id"],
            "timeout": 0.2,
        },
        "migration": {"mode": mode, **migration},
    }
    (tmp_path / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return build_route_table(load_mappings(tmp_path, {}), WsdlRegistry(ROOT / "wsdl"))


def served(
    tmp_path: Path, mode: str, answer: Reply, **migration: Any
) -> tuple[ServedRoute, MemoryTransport]:
    table = table_for(tmp_path, mode, **migration)
    [route] = list(table)
    transport = MemoryTransport(lambda request: answer)
    compiled = table.new_sides[route.name]
    assert compiled.template is not None
    contract = table.contracts.routes[route.name]
    return (
        ServedRoute(
            route,
            table.validators[route.name],
            LegacyBackend(route, transport),
            NewBackend(compiled.binding, compiled.template, None, 200, transport),
            ResponseConformance(contract.response, table.contracts.components),
        ),
        transport,
    )


def run(route: ServedRoute, **request: Any) -> Any:
    context = RequestContext(route=route.name, request_id="req-9", **request)
    return asyncio.run(handle(route, context))


def test_mode_picks_the_side(tmp_path: Path) -> None:
    answer = Reply(200, JSON, b'{"id": 1, "name": "Ada"}')
    legacy_route, _ = served(tmp_path, "legacy", answer)
    new_route, _ = served(tmp_path, "new", answer)
    context = RequestContext(route=legacy_route.name, request_id="req-1")
    assert choose_side(legacy_route, context).side == "legacy"
    assert choose_side(new_route, context).side == "new"


def test_the_new_side_gets_the_method_body_and_allowed_headers(tmp_path: Path) -> None:
    route, transport = served(tmp_path, "new", Reply(200, JSON, b'{"id": 1, "name": "Ada"}'))
    outcome = run(
        route,
        path={"id": "1"},
        headers={"x-user-id": "u", "cookie": "c"},
        body={"note": "hi"},
    )
    assert isinstance(outcome, BackendReply)
    assert (outcome.side, outcome.status, outcome.violations) == ("new", 200, ())
    [sent] = transport.requests
    assert (sent.method, sent.url) == ("PUT", "http://new.internal/customers/1")
    assert orjson.loads(sent.content or b"") == {"note": "hi"}
    assert sent.headers == {
        "x-user-id": "u",
        "accept": "application/json",
        "x-request-id": "req-9",
        "content-type": "application/json",
    }


def test_violations_travel_on_the_reply_as_json_pointers(tmp_path: Path) -> None:
    route, _ = served(tmp_path, "new", Reply(200, JSON, b'{"id": "one", "name": 5}'))
    outcome = run(route, path={"id": "1"})
    assert isinstance(outcome, BackendReply)
    assert outcome.body == {"id": "one", "name": 5}  # sent as the new side gave it
    assert [v.pointer for v in outcome.violations] == ["/id", "/name"]
    assert all(isinstance(v, Violation) and v.message for v in outcome.violations)


def test_a_new_side_failure_carries_side_new(tmp_path: Path) -> None:
    route, _ = served(tmp_path, "new", Reply(503, JSON, b"{}"), fallback=False)
    outcome = run(route, path={"id": "1"})
    assert isinstance(outcome, Failure)
    assert (outcome.side, outcome.error.status) == ("new", 502)


def test_a_204_is_null(tmp_path: Path) -> None:
    route, _ = served(tmp_path, "new", Reply(204, {}, b""))
    outcome = run(route, path={"id": "1"})
    assert isinstance(outcome, BackendReply)
    assert outcome.body is None


def test_mode_new_without_a_new_backend_cannot_be_served(tmp_path: Path) -> None:
    route, _ = served(tmp_path, "new", Reply(200, JSON, b"{}"))
    with pytest.raises(ValueError, match="mode new"):
        ServedRoute(route.compiled, route.validator, route.legacy)


def test_canary_picks_the_side_from_the_callers_sticky_value(tmp_path: Path) -> None:
    answer = Reply(200, JSON, b'{"id": 1, "name": "Ada"}')
    route, _ = served(tmp_path, "canary", answer, percent=100, sticky='headers."x-user-id"')

    def side(**request: Any) -> str:
        context = RequestContext(route=route.name, request_id="req-1", **request)
        return choose_side(route, context).side

    assert side(headers={"x-user-id": "u-1"}) == "new"
    assert side(headers={}) == "legacy"  # no sticky value: legacy
    assert side(headers={"x-user-id": ""}) == "legacy"


def test_canary_reads_the_client_address_by_default(tmp_path: Path) -> None:
    route, _ = served(tmp_path, "canary", Reply(200, JSON, b"{}"), percent=100)
    context = RequestContext(route=route.name, request_id="r", client={"ip": "192.0.2.7"})
    assert choose_side(route, context).side == "new"
    assert choose_side(route, RequestContext(route=route.name, request_id="r")).side == "legacy"


def test_a_sticky_expression_that_fails_on_the_request_keeps_the_caller_on_legacy(
    tmp_path: Path,
) -> None:
    """`length(...)` of a missing header raises in JMESPath; the caller has no key, and a
    caller without a key is legacy's, never a 500."""
    answer = Reply(200, JSON, b'{"id": 1, "name": "Ada"}')
    route, _ = served(tmp_path, "canary", answer, percent=100, sticky='length(headers."x-u")')
    context = RequestContext(route=route.name, request_id="r", headers={})
    assert choose_side(route, context).side == "legacy"
    context = RequestContext(route=route.name, request_id="r", headers={"x-u": "abc"})
    assert choose_side(route, context).side == "new"
