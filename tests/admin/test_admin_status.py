"""The status document and its table from plain values, and the settings that turn the
admin API on."""

from __future__ import annotations

from facade.admin.status import RouteState, Sample, empty_shadow, status_document
from facade.admin.table import status_lines
from facade.paths import RESERVED_PATHS
from facade.settings import Settings

ROUTES = [
    RouteState("get-customer", "GET", "/v1/customers/{id}", "canary", 12.5),
    RouteState("get-order", "GET", "/v1/orders/{id}", "legacy", 0.0),
]


def request(route: str, side: str, status: str, value: float) -> Sample:
    return Sample("facade_requests_total", {"route": route, "side": side, "status": status}, value)


def test_counters_are_summed_over_statuses_and_sides_default_to_zero() -> None:
    samples = [
        request("get-customer", "new", "200", 3),
        request("get-customer", "new", "404", 1),
        request("get-customer", "legacy-fallback", "200", 2),
        Sample("facade_requests_created", {"route": "get-customer", "side": "new"}, 1e9),
        Sample("facade_fallbacks_total", {"route": "get-customer"}, 2),
        Sample("facade_contract_violations_total", {"route": "get-customer", "side": "new"}, 4),
    ]
    document = status_document(ROUTES, samples, {}, "this worker")
    customer, order = document["routes"]
    assert customer["requests"] == {"legacy": 0, "new": 4, "legacy-fallback": 2}
    assert (customer["fallbacks"], customer["contract_violations"]) == (2, {"legacy": 0, "new": 4})
    assert (customer["mode"], customer["percent"]) == ("canary", 12.5)
    assert order["requests"] == {"legacy": 0, "new": 0, "legacy-fallback": 0}
    assert order["shadow"] == empty_shadow()
    assert order["shadow_match_rate"] is None
    shadowed = {"get-order": empty_shadow() | {"comparisons": 4, "matches": 3}}
    assert status_document(ROUTES, [], shadowed, "x")["routes"][1]["shadow_match_rate"] == 0.75
    assert (document["counters"], document["shadow"]) == ("this worker", "this worker")


def test_the_table_has_a_row_per_route_and_the_recent_diffs() -> None:
    shadow = empty_shadow() | {
        "comparisons": 3,
        "mismatches": 1,
        "recent_diffs": [{"path": "Balance", "legacy": "1.50", "new": 1.5, "request_id": "r1"}],
    }
    document = status_document(ROUTES, [], {"get-order": shadow}, "all workers")
    lines = status_lines(document)
    assert lines[1].split() == ["get-customer", "canary", "12.5", "canary:12.5", *["0"] * 10, "-"]
    assert lines[2].split() == ["get-order", "legacy", "-", "legacy", "0", "0", "0", "0", "3"] + [
        "0",
        "1",
        "0",
        "0",
        "0",
        "-",
    ]
    assert lines[3:] == [
        "",
        "get-order: recent differences (path: legacy -> new, request id)",
        '  Balance: "1.50" -> 1.5  (r1)',
        ": 1 of 1 legacy operations still receive traffic (0 of 2 routes retired)",
        "(requests and fallbacks: all workers; shadow and guard figures: this worker)",
    ]


def test_status_counts_the_legacy_operations_still_in_use_per_wsdl() -> None:
    routes = [
        RouteState("a", "GET", "/a", "new", 0.0, "crm.wsdl", "GetCustomer", {"retired": True}),
        RouteState("b", "GET", "/b", "new", 0.0, "crm.wsdl", "GetCustomer", {"retired": False}),
        RouteState("c", "GET", "/c", "new", 0.0, "crm.wsdl", "GetOrder", {"retired": True}),
        RouteState("d", "GET", "/d", "legacy", 0.0, "erp.wsdl", "GetStock", {"retired": False}),
    ]
    document = status_document(routes, [], {}, "this worker")
    assert document["wsdls"] == [
        {
            "wsdl": "crm.wsdl",
            "routes": 3,
            "retired_routes": 2,
            "operations": 2,
            "legacy_operations_in_use": 1,
        },
        {
            "wsdl": "erp.wsdl",
            "routes": 1,
            "retired_routes": 0,
            "operations": 1,
            "legacy_operations_in_use": 1,
        },
    ]
    assert "crm.wsdl: 1 of 2 legacy operations still receive traffic (2 of 3 routes retired)" in (
        status_lines(document)
    )


def test_the_admin_token_comes_from_the_environment_and_stays_out_of_reprs() -> None:
    assert Settings.from_env({}).admin_token is None
    assert Settings.from_env({"FACADE_ADMIN_TOKEN": ""}).admin_token is None
    settings = Settings.from_env({"FACADE_ADMIN_TOKEN": "t0k"})
    assert settings.admin_token == "t0k"
    assert "t0k" not in repr(settings)
    assert settings.to_env()["FACADE_ADMIN_TOKEN"] == "t0k"
    assert "FACADE_ADMIN_TOKEN" not in Settings().to_env()


def test_the_admin_status_path_is_exempt_from_pacing_and_reserved() -> None:
    assert "/admin/status" in RESERVED_PATHS


def test_a_route_never_shadowed_has_the_same_figures_as_one_that_was() -> None:
    from facade.admin.status import empty_shadow
    from facade.migration.records import ShadowRecords

    records = ShadowRecords()
    records.compared("r", [], "req")
    assert set(empty_shadow()) == set(records.snapshot()["r"])
