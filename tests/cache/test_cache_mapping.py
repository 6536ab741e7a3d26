"""`cache:` in a mapping file, and what `facade check` refuses about it."""

from __future__ import annotations

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
