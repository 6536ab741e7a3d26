"""`facade check` proves migration sections: canary needs a new side, percent belongs to
canary and stays in range, sticky compiles over the context's names; fallback defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from test_routetable_new import NEW_URL, WSDL, document, only, problems_of
from typer.testing import CliRunner

from facade.cli import app
from facade.mapping.loader import read_mapping

NEW = {"url": NEW_URL + "/customers/{path.id}"}


def canary(method: str = "GET", new: dict[str, Any] | None = NEW, **migration: Any) -> Any:
    doc = document(new, mode=migration.pop("mode", "canary"), method=method)
    doc["migration"].update(migration)
    return doc


def test_a_canary_route_compiles(tmp_path: Path) -> None:
    doc = canary(percent=0.5, sticky='headers."x-user-id"')
    assert problems_of(tmp_path, doc) == []


@pytest.mark.parametrize(
    ("doc", "field", "message"),
    [
        (canary(new=None, percent=10), "migration.mode", "is canary, but the mapping has no new:"),
        (canary(percent=100.5), "migration.percent", "less than or equal to 100"),
        (canary(percent=-1), "migration.percent", "greater than or equal to 0"),
        (canary(mode="new", percent=10), "migration", "percent applies to mode canary only"),
        (canary(mode="legacy", percent=0), "migration", "percent applies to mode canary only"),
        (canary(sticky="headers.[x"), "migration.sticky", "is not a valid JMESPath expression"),
        (canary(sticky="cookies.session"), "migration.sticky", "must name a value under one of"),
        (canary(sticky="headers"), "migration.sticky", "must name a value under one of"),
        (canary(sticky='headers."X-User-Id"'), "migration.sticky", 'write headers."x-user-id"'),
        (canary(fallback="sometimes"), "migration.fallback", "valid boolean"),
    ],
)
def test_bad_migration_sections_are_located_problems(
    tmp_path: Path, doc: Any, field: str, message: str
) -> None:
    found_field, found_message = only(tmp_path, doc)
    assert found_field == field
    assert message in found_message, found_message


@pytest.mark.parametrize(
    "sticky", ["client.ip", "body.account", 'headers."x-user-id" || client.ip', "path.id"]
)
def test_sticky_may_read_any_name_of_the_context(tmp_path: Path, sticky: str) -> None:
    assert problems_of(tmp_path, canary(sticky=sticky)) == []


@pytest.mark.parametrize(
    ("method", "migration", "expected"),
    [
        ("GET", {}, True),
        ("POST", {}, False),
        ("DELETE", {}, False),
        ("GET", {"fallback": False}, False),
        ("POST", {"fallback": True}, True),
    ],
)
def test_fallback_defaults_to_safe_routes_and_writes_opt_in(
    tmp_path: Path, method: str, migration: dict[str, Any], expected: bool
) -> None:
    file = tmp_path / "route.yaml"
    file.write_text(yaml.safe_dump(canary(method, mode="new", **migration)), encoding="utf-8")
    policy = read_mapping(file, {}).migration
    assert policy.fallback is expected
    assert (policy.percent, policy.sticky) == (0.0, None)


def test_a_write_that_opts_in_to_fallback_is_accepted_quietly(tmp_path: Path) -> None:
    (tmp_path / "write.yaml").write_text(
        yaml.safe_dump(canary("POST", percent=5, fallback=True)), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["check", "--mappings", str(tmp_path), "--wsdl", str(WSDL)])
    assert result.exit_code == 0, result.output
    assert "fallback" not in result.output


def test_facade_check_reports_migration_problems(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(canary(sticky="cookies.x")), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--mappings", str(tmp_path), "--wsdl", str(WSDL)])
    assert result.exit_code == 1
    assert "bad.yaml: migration.sticky: 'cookies.x' must name a value under one of" in result.output


def test_facade_routes_shows_a_canarys_share(tmp_path: Path) -> None:
    (tmp_path / "get-customer.yaml").write_text(
        yaml.safe_dump(canary(percent=0.5)), encoding="utf-8"
    )
    result = CliRunner().invoke(app, ["routes", "--mappings", str(tmp_path), "--wsdl", str(WSDL)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split()[-2:] == ["canary", "0.5%"]
