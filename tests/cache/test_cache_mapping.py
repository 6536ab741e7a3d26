"""`cache:` in a mapping file, and what `facade check` refuses about it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from facade.errors import ConfigError
from facade.mapping.loader import CachePolicy, RouteMapping, read_mapping
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent.parent


def route(tmp_path: Path, method: str = "GET", **section: Any) -> RouteMapping:
    document = {
        "route": {"method": method, "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://127.0.0.1:9/crm",
            "request": {"CustomerId": "path.id"},
        },
        "cache": section,
    }
    file = tmp_path / "get-customer.yaml"
    file.write_text(yaml.safe_dump(document), encoding="utf-8")
    return read_mapping(file, {})


def test_the_cache_section_is_read(tmp_path: Path) -> None:
    mapping = route(tmp_path, ttl=30, vary=["Accept-Language"], public=True)
    assert mapping.cache == CachePolicy(ttl=30, vary=("accept-language",), public=True)


def test_without_a_cache_section_nothing_is_cached(tmp_path: Path) -> None:
    mapping = route(tmp_path, ttl=1)
    file = tmp_path / "get-customer.yaml"
    document = yaml.safe_load(file.read_text(encoding="utf-8"))
    del document["cache"]
    file.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert mapping.cache.ttl == 1
    assert read_mapping(file, {}).cache == CachePolicy()


@pytest.mark.parametrize("ttl", [0, -1])
def test_a_ttl_must_be_positive(tmp_path: Path, ttl: int) -> None:
    with pytest.raises(ConfigError, match="cache.ttl"):
        route(tmp_path, ttl=ttl)


def test_check_refuses_a_cache_on_a_write_route(tmp_path: Path) -> None:
    mapping = route(tmp_path, method="DELETE", ttl=30)
    with pytest.raises(ConfigError) as caught:
        build_route_table([mapping], WsdlRegistry(ROOT / "wsdl"))
    [problem] = caught.value.problems
    assert problem.field == "cache"
    assert "only safe routes are cached" in problem.message


def test_check_accepts_a_cache_on_a_safe_route(tmp_path: Path) -> None:
    table = build_route_table([route(tmp_path, ttl=30)], WsdlRegistry(ROOT / "wsdl"))
    assert len(table) == 1


def mapping(
    tmp_path: Path, name: str, method: str, path: str, operation: str, cache: dict[str, Any]
) -> RouteMapping:
    request = {"CustomerId": "path.id"}
    if operation == "SearchCustomers":
        request = {"Name": "path.id", "MinBalance": "query.min"}
    document = {
        "route": {"method": method, "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": operation,
            "address": "http://127.0.0.1:9/crm",
            "request": request,
        },
        "cache": cache,
    }
    file = tmp_path / f"{name}.yaml"
    file.write_text(yaml.safe_dump(document), encoding="utf-8")
    return read_mapping(file, {})


def table_with(tmp_path: Path, invalidates: list[Any], method: str = "DELETE") -> Any:
    cached = mapping(tmp_path, "find", "GET", "/v1/find/{id}", "SearchCustomers", {"ttl": 60})
    uncached = mapping(tmp_path, "plain", "GET", "/v1/plain/{id}", "GetCustomer", {"ttl": 1})
    uncached = replace(uncached, cache=CachePolicy())
    write = mapping(
        tmp_path,
        "remove",
        method,
        "/v1/remove/{id}",
        "DeleteCustomer",
        {"invalidates": invalidates},
    )
    return build_route_table([cached, uncached, write], WsdlRegistry(ROOT / "wsdl"))


def problems_of(tmp_path: Path, invalidates: list[Any], method: str = "DELETE") -> list[Any]:
    with pytest.raises(ConfigError) as caught:
        table_with(tmp_path, invalidates, method)
    return [(p.file.rsplit("/", 1)[-1], p.field, p.message) for p in caught.value.problems]


def test_a_write_names_what_it_invalidates(tmp_path: Path) -> None:
    table = table_with(
        tmp_path, [{"route": "find", "params": {"id": "path.id", "min": "body.floor"}}]
    )
    [write] = [route for route in table if route.name == "remove"]
    [target] = write.invalidates
    assert target.route == "find"
    assert [(name, e.expression) for name, e in target.params] == [
        ("id", "path.id"),
        ("min", "body.floor"),
    ]
    assert write.mapping.cache.ttl is None


def test_an_invalidation_without_params_is_every_entry(tmp_path: Path) -> None:
    [write] = [r for r in table_with(tmp_path, [{"route": "find"}]) if r.name == "remove"]
    assert write.invalidates[0].params == ()


def test_check_refuses_an_unknown_route(tmp_path: Path) -> None:
    assert problems_of(tmp_path, [{"route": "fnd"}]) == [
        (
            "remove.yaml",
            "cache.invalidates.0.route",
            "route 'fnd' does not exist (did you mean 'find'?)",
        )
    ]


def test_check_refuses_a_route_that_is_not_cached(tmp_path: Path) -> None:
    assert problems_of(tmp_path, [{"route": "plain"}]) == [
        (
            "remove.yaml",
            "cache.invalidates.0.route",
            "route 'plain' is not cached (it has no cache.ttl)",
        )
    ]


def test_check_refuses_a_parameter_the_target_does_not_have(tmp_path: Path) -> None:
    [(file, field, message)] = problems_of(
        tmp_path, [{"route": "find", "params": {"name": "path.id"}}]
    )
    assert (file, field) == ("remove.yaml", "cache.invalidates.0.params.name")
    assert message == "'name' is not a path or query parameter of route 'find' (it has: id, min)"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("path.[", "is not a valid JMESPath expression"),
        ("path.nope", "path.nope is not a parameter of route.path /v1/remove/{id}"),
        ("params.id", "must name a value under one of path, query, headers, body"),
    ],
)
def test_check_refuses_a_bad_expression(tmp_path: Path, expression: str, message: str) -> None:
    [(file, field, found)] = problems_of(
        tmp_path, [{"route": "find", "params": {"id": expression}}]
    )
    assert (file, field) == ("remove.yaml", "cache.invalidates.0.params.id")
    assert message in found


def test_check_refuses_invalidates_on_a_safe_route(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, [{"route": "find"}], method="GET")
    assert (
        "remove.yaml",
        "cache.invalidates",
        "only write routes invalidate; a safe route changes nothing (or set legacy.safe: false)",
    ) in problems


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ({}, "cache", "give a ttl (cache this route) or invalidates (a write route)"),
        (
            {"invalidates": [{"route": "find"}], "stale_if_error": 5},
            "cache",
            "stale_if_error apply to a route with a ttl only",
        ),
        ({"invalidates": [{"route": "Find!"}]}, "cache.invalidates.0.route", "should match"),
        (
            {"invalidates": [{"route": "find", "param": {}}]},
            "cache.invalidates.0.param",
            "unknown key",
        ),
        (
            {"ttl": 5, "stale_while_revalidate": -1},
            "cache.stale_while_revalidate",
            "greater than or equal",
        ),
    ],
)
def test_the_loader_refuses_a_section_that_makes_no_sense(
    tmp_path: Path, section: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        mapping(tmp_path, "remove", "DELETE", "/v1/remove/{id}", "DeleteCustomer", section)
    [problem] = caught.value.problems
    assert problem.field == field
    assert message in problem.message
