"""Mode shadow in a mapping: what loads, what `facade check` refuses and what it warns about."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from facade.cli import app
from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import ComparePolicy, read_mapping
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parents[2]
WSDL = ROOT / "wsdl"
NEW = {"url": "http://new.internal/customers/{path.id}"}


def document(migration: dict[str, Any], method: str = "GET", new: Any = NEW) -> dict[str, Any]:
    found: dict[str, Any] = {
        "route": {"method": method, "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://crm.internal/crm",
            "request": {"CustomerId": "path.id"},
        },
        "migration": migration,
    }
    if new is not None:
        found["new"] = new
    return found


def write(folder: Path, doc: dict[str, Any]) -> Path:
    file = folder / "route.yaml"
    file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return file


def problems_of(tmp_path: Path, doc: dict[str, Any]) -> list[ConfigProblem]:
    try:
        build_route_table([read_mapping(write(tmp_path, doc), {})], WsdlRegistry(WSDL))
    except ConfigError as exc:
        return exc.problems
    return []


def test_a_shadow_route_loads_its_comparison_rules(tmp_path: Path) -> None:
    compare = {
        "ignore": ["updatedAt", "lines[*].etag"],
        "sort": {"lines": "sku"},
        "baseline": True,
        "redact": ["pin"],
    }
    doc = document({"mode": "shadow", "compare": compare})
    mapping = read_mapping(write(tmp_path, doc), {})
    assert mapping.mode == "shadow"
    assert not mapping.migration.shadow_writes
    assert mapping.migration.compare == ComparePolicy(
        ignore=("updatedAt", "lines[*].etag"),
        sort=(("lines", "sku"),),
        baseline=True,
        redact=("pin",),
    )
    assert problems_of(tmp_path, doc) == []


def test_shadow_needs_a_new_section(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path, document({"mode": "shadow"}, new=None))
    assert problem.field == "migration.mode"
    assert "is shadow, but the mapping has no new: section" in problem.message


@pytest.mark.parametrize(
    ("compare", "field"),
    [
        ({"ignore": ["lines[0].etag"]}, "migration.compare.ignore"),
        ({"sort": {"a..b": "id"}}, "migration.compare.sort"),
        ({"sort": {"lines": ""}}, "migration.compare.sort"),
        ({"order": True}, "migration.compare.order"),
    ],
)
def test_bad_compare_rules_are_located(tmp_path: Path, compare: dict[str, Any], field: str) -> None:
    [problem] = problems_of(tmp_path, document({"mode": "shadow", "compare": compare}))
    assert problem.field == field, problem


def check(folder: Path) -> Any:
    args = ["check", "--mappings", str(folder), "--wsdl", str(WSDL)]
    return CliRunner().invoke(app, args)


def test_check_warns_about_shadowed_writes_and_passes(tmp_path: Path) -> None:
    write(tmp_path, document({"mode": "shadow", "shadow_writes": True}, method="POST"))
    result = check(tmp_path)
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output
    assert "route.yaml: migration.shadow_writes: POST /v1/customers/{id} writes" in result.output
    assert "1 route OK" in result.output


def test_no_warning_for_a_safe_route_or_writes_left_alone(tmp_path: Path) -> None:
    write(tmp_path, document({"mode": "shadow", "shadow_writes": True}))
    assert "warning" not in check(tmp_path).output
    write(tmp_path, document({"mode": "shadow"}, method="POST"))
    assert "warning" not in check(tmp_path).output
