"""The pipeline in mode shadow, over the in-memory transport: legacy serves, and the job it
hands back replays the request on the new side (safe methods, or writes opted in)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from wsdls import envelope

from facade.backends.base import BackendReply
from facade.backends.legacy import LegacyBackend
from facade.backends.new import NewBackend
from facade.context import RequestContext
from facade.contracts.conformance import Violation
from facade.errors import BackendUnreachable, ClientError
from facade.mapping.loader import MigrationPolicy, load_mappings
from facade.migration.compare import Answer
from facade.migration.shadow import ShadowJob
from facade.net import MemoryTransport, Reply
from facade.net.memory import MemoryRequest
from facade.pipeline import Failure, Outcome, ServedRoute, answer, serve
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
CRM = "http://example.com/crm"
CUSTOMER = (
    f'<c:GetCustomerResponse xmlns:c="{CRM}"><c:Customer><c:Id>1</c:Id><c:Name>Ada</c:Name>'
    "<c:Email>a@example.com</c:Email><c:Status>active</c:Status><c:Balance>1.50</c:Balance>"
    "<c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt><c:Address><c:Street>x</c:Street>"
    "<c:City>L</c:City><c:PostalCode>p</c:PostalCode><c:Country>GB</c:Country></c:Address>"
    "</c:Customer></c:GetCustomerResponse>"
)


def peers(request: MemoryRequest) -> Reply:
    if request.url.startswith("http://crm.internal"):
        return Reply(200, {"content-type": "text/xml"}, envelope(CUSTOMER).encode())
    return Reply(200, {"content-type": "application/json"}, b'{"id": 1, "name": "Ada"}')


def shadow_route(tmp_path: Path, method: str = "GET", **migration: Any) -> ServedRoute:
    document = {
        "route": {"method": method, "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://crm.internal/crm",
            "request": {"CustomerId": "path.id"},
            "response": "Customer.{id: Id, name: Name}",
        },
        "new": {"url": "http://new.internal/customers/{path.id}"},
        "migration": {"mode": "shadow", **migration},
    }
    (tmp_path / "route.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    table = build_route_table(load_mappings(tmp_path, {}), WsdlRegistry(ROOT / "wsdl"))
    [compiled] = list(table)
    new = table.new_sides[compiled.name]
    assert new.template is not None
    transport = MemoryTransport(peers)
    return ServedRoute(
        compiled,
        table.validators[compiled.name],
        LegacyBackend(compiled, transport),
        NewBackend(new.binding, new.template, None, 200, transport),
    )


def run(route: ServedRoute) -> tuple[Outcome, ShadowJob | None]:
    context = RequestContext(route=route.name, request_id="req-7", path={"id": "1"})
    return asyncio.run(serve(route, context))


def test_legacy_serves_and_the_job_replays_on_new(tmp_path: Path) -> None:
    outcome, job = run(shadow_route(tmp_path))
    assert isinstance(outcome, BackendReply) and outcome.side == "legacy"
    assert job is not None
    assert (job.route, job.request_id, job.legacy) == ("route", "req-7", Answer(200, outcome.body))
    assert asyncio.run(job.new()) == Answer(200, {"id": 1, "name": "Ada"})
    assert job.legacy_again is None


def test_a_baseline_job_can_call_legacy_again(tmp_path: Path) -> None:
    _, job = run(shadow_route(tmp_path, compare={"baseline": True, "ignore": ["name"]}))
    assert job is not None and job.legacy_again is not None
    assert asyncio.run(job.legacy_again()) == job.legacy
    assert job.rules.ignore == (("name",),)


@pytest.mark.parametrize(
    ("method", "opted_in", "shadowed"),
    [("POST", False, False), ("POST", True, True), ("DELETE", False, False)],
)
def test_writes_are_replayed_only_when_opted_in(
    tmp_path: Path, method: str, opted_in: bool, shadowed: bool
) -> None:
    _, job = run(shadow_route(tmp_path, method, shadow_writes=opted_in))
    assert (job is not None) is shadowed


def test_no_job_outside_mode_shadow(tmp_path: Path) -> None:
    route = shadow_route(tmp_path)
    mapping = replace(route.compiled.mapping, migration=MigrationPolicy(mode="legacy"))
    assert run(replace(route, compiled=replace(route.compiled, mapping=mapping)))[1] is None


def test_answers_as_the_comparison_sees_them() -> None:
    reply = BackendReply(200, b'{"a": 1}', "new", 0.1)
    assert answer(reply) == Answer(200, {"a": 1})
    broken = replace(reply, violations=(Violation("/a", "not a string"),))
    assert answer(broken) == Answer(200, {"a": 1}, (("/a", "not a string"),))
    assert answer(Failure(ClientError("gone", status=404), "legacy")) == Answer(404)
    assert answer(Failure(BackendUnreachable(), "new")) is None


def test_a_shadowed_write_never_reaches_legacy_twice(tmp_path: Path) -> None:
    """shadow_writes lets the new side see a write; a baseline would send it to legacy a
    second time, so a write route gets no baseline call."""
    _, job = run(shadow_route(tmp_path, "POST", shadow_writes=True, compare={"baseline": True}))
    assert job is not None and job.legacy_again is None


def test_an_answer_too_large_to_compare_on_the_loop_is_not_decoded() -> None:
    big = b'{"items": [' + b",".join(b"%d" % i for i in range(20_000)) + b"]}"
    reply = BackendReply(200, big, "new", 0.1)
    seen = answer(reply)
    assert seen is not None and seen.too_large and seen.body is None
    assert "body" not in reply.__dict__  # the cached decode never ran
