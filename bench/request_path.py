"""The CPU of one miss outside the network, in process: arguments, envelope, reply checks.

    PYTHONPATH=. .venv/bin/python bench/request_path.py [--calls 2000] [--rounds 5]

Builds the demo's routes from `mappings/` as the app does (route table, validators,
compiled readers and writers) and times, per call, on GET /v1/customers/1 (get-customer)
and on POST /v1/customers with a full body (create-customer):

- build_arguments: the JMESPath walk, coercion and the contract check; the contract check
  alone, by the compiled check and by jsonschema;
- build_request: the envelope by zeep and by the route's compiled writer (when it has one),
  whose bytes are compared first;
- the reply of get-customer as the demo's mock answers it: the parse, `find_fault`,
  `reply_body` (both) and the compiled reader, and a fault reply (CustomerNotFound).

Rounds alternate between the variants; the median of the rounds is printed in us per call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import _harness as h

from facade.backends.legacy_reply import translate_reply
from facade.context import RequestContext
from facade.errors import SoapFault
from facade.mapping.loader import load_mappings
from facade.net.seam import Reply
from facade.routetable import CompiledRoute, RouteTable, build_route_table
from facade.soap.faults import find_fault
from facade.soap.message import build_request, reply_body
from facade.soap.registry import WsdlRegistry
from facade.soap.security import EnvelopeSigner, username_token
from facade.translate.request import build_arguments
from facade.translate.response import to_json
from facade.translate.xml import parse_xml

NEW_CUSTOMER = {
    "Name": "Ada Lovelace",
    "Email": "ada@example.com",
    "Phone": "+44 20 7946 0000",
    "BirthDate": "1815-12-10",
    "Address": {
        "Street": "12 St James's Square",
        "City": "London",
        "PostalCode": "SW1Y 4JH",
        "Country": "GB",
    },
    "Tags": ["vip", "analytical"],
}


def table() -> RouteTable:
    wanted = {"get-customer", "create-customer"}
    mappings = [m for m in load_mappings(h.ROOT / "mappings") if m.name in wanted]
    return build_route_table(mappings, WsdlRegistry(Path(h.WSDL_DIR)))


def per_call(work: Callable[[], object], calls: int) -> float:
    """Microseconds per call of `work`, over `calls` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - start) / calls * 1e6


def fault_reply() -> bytes:
    return h.mock_reply("GetCustomer", "<CustomerId>42</CustomerId>", status=500)


def variants(routes: RouteTable) -> dict[str, Callable[[], object]]:
    """Every timed step, by name; `zeep`/`jsonschema` rows are the path they replace."""
    by_name = {route.name: route for route in routes}
    get, create = by_name["get-customer"], by_name["create-customer"]
    contexts = {
        "get-customer": RequestContext("get-customer", "r1", path={"id": "1"}).expression_data(),
        "create-customer": RequestContext(
            "create-customer", "r2", body=NEW_CUSTOMER
        ).expression_data(),
    }
    work: dict[str, Callable[[], object]] = {}
    for route in (get, create):
        name = route.name
        validator = routes.validators[name]
        data = contexts[name]
        arguments = build_arguments(route.arguments, data, validator)
        fields = {source.name: source.field for source in route.arguments}
        plain = to_json(dict(arguments))
        work[f"{name}: build_arguments"] = lambda r=route, d=data, v=validator: build_arguments(
            r.arguments, d, v
        )
        work[f"{name}: contract check"] = lambda v=validator, a=arguments, f=fields: v.problems(
            a, f
        )
        slow = getattr(validator, "_explain", None)
        if slow is not None:
            work[f"{name}: contract check, jsonschema"] = lambda s=slow, p=plain: list(
                s.iter_errors(p)
            )
        work[f"{name}: build_request, zeep"] = _request(replace(route, writer=None), arguments)
        if route.writer is not None:
            work[f"{name}: build_request, compiled"] = _request(route, arguments)
    signer = username_token("crm-user", "secret", digest=True)
    work["get-customer: build_request + digest token, zeep"] = _request(
        replace(get, writer=None), {"CustomerId": 1}, signer
    )
    work["get-customer: build_request + digest token, compiled"] = _request(
        get, {"CustomerId": 1}, signer
    )
    reply = Reply(200, {"content-type": "text/xml; charset=utf-8"}, h.get_customer_reply())
    fault = Reply(500, {"content-type": "text/xml; charset=utf-8"}, fault_reply())
    work["reply: parse_xml"] = lambda: parse_xml(reply.content)
    root = parse_xml(reply.content)
    work["reply: find_fault (no fault)"] = lambda: find_fault(root)
    work["reply: reply_body"] = lambda: reply_body(get.operation, reply)
    body = reply_body(get.operation, reply)
    assert get.reader is not None and body is not None
    work["reply: compiled reader"] = lambda: get.reader.read_body(body)  # type: ignore[union-attr]
    work["reply: translate_reply"] = lambda: translate_reply(get, reply)
    work["fault: translate_reply"] = lambda: _faulted(get, fault)
    return work


def _request(
    route: CompiledRoute, arguments: dict[str, Any], signer: EnvelopeSigner | None = None
) -> Callable[[], object]:
    return lambda: (
        build_request(
            route.operation, arguments, route.address, signer=signer, writer=route.writer
        ).content
    )


def _faulted(route: CompiledRoute, reply: Reply) -> None:
    try:
        translate_reply(route, reply)
    except SoapFault:
        return
    raise AssertionError("the fault reply was not a fault")


def same_envelopes(routes: RouteTable) -> None:
    """The compiled writer's bytes are zeep's on the benchmark's arguments."""
    for route in routes:
        if route.writer is None:
            continue
        work = variants(routes)
        zeep = work[f"{route.name}: build_request, zeep"]()
        compiled = work[f"{route.name}: build_request, compiled"]()
        if zeep != compiled:
            sys.exit(f"{route.name}: the compiled envelope differs from zeep's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    routes = table()
    same_envelopes(routes)
    work = variants(routes)
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(args.rounds):
        for name, step in work.items():
            times[name].append(per_call(step, args.calls))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"{'step':<52} {'us/call':>9}")
    for name, value in medians.items():
        print(f"{name:<52} {value:>9.1f}")
    for name in ("get-customer", "create-customer", "get-customer: build_request + digest token"):
        row = name if ":" in name else f"{name}: build_request"
        zeep = medians[f"{row}, zeep"]
        compiled = medians.get(f"{row}, compiled")
        if compiled:
            print(f"{row} zeep / compiled: {zeep / compiled:.1f}x")
        slow = medians.get(f"{name}: contract check, jsonschema")
        if slow:
            fast = medians[f"{name}: contract check"]
            print(f"{name}: contract check jsonschema / now: {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
