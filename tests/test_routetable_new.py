"""`facade check` proves `new:` sections: one implementation, templates over the context's
names, handlers that import, valid expressions, and modes that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from facade.cli import app
from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import load_mappings, read_mapping
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
WSDL = ROOT / "wsdl"
NEW_URL = "http://orders.internal:8080"


def document(new: dict[str, Any] | None, mode: str = "new", **route: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "route": {"method": "GET", "path": "/v1/customers/{id}", **route},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://crm.internal/crm",
            "request": {"CustomerId": "path.id"},
        },
        "migration": {"mode": mode},
    }
    if new is not None:
        found["new"] = new
    return found


def problems_of(tmp_path: Path, doc: dict[str, Any]) -> list[ConfigProblem]:
    file = tmp_path / "route.yaml"
    file.write_text(yaml.safe_dump(doc), encoding="utf-8")
    try:
        build_route_table([read_mapping(file, {})], WsdlRegistry(WSDL))
    except ConfigError as exc:
        return exc.problems
    return []


def only(tmp_path: Path, doc: dict[str, Any]) -> tuple[str, str]:
    [problem] = problems_of(tmp_path, doc)
    assert problem.file.endswith("route.yaml")
    return problem.field, problem.message


def test_a_good_url_section_compiles(tmp_path: Path) -> None:
    new = {
        "url": NEW_URL + '/customers/{path.id}?q={query.q}&u={headers."x-user-id"}&b={body.a}',
        "headers": ["Authorization"],
        "response": "{id: id}",
    }
    file = tmp_path / "route.yaml"
    file.write_text(yaml.safe_dump(document(new)), encoding="utf-8")
    [mapping] = load_mappings(tmp_path, {})
    assert mapping.new is not None and mapping.new.method == "GET"
    assert mapping.new.headers == ("authorization",)
    table = build_route_table([mapping], WsdlRegistry(WSDL))
    compiled = table.new_sides["route"]
    assert compiled.template is not None and compiled.template.origin == NEW_URL


def test_a_good_handler_section_compiles(tmp_path: Path) -> None:
    assert problems_of(tmp_path, document({"handler": "new_handlers:sync_customer"})) == []


@pytest.mark.parametrize(
    ("new", "field", "message"),
    [
        ({"url": "http://{path.id}.internal/x"}, "new.url", "scheme, host or port"),
        ({"url": NEW_URL + "/c/{path.customer}"}, "new.url", "'customer' is not a parameter"),
        (
            {"url": NEW_URL + "/c/{cookies.id}"},
            "new.url",
            "one of path, query, headers, body, principal",
        ),
        (
            {"url": NEW_URL + "/c/{query}"},
            "new.url",
            "one of path, query, headers, body, principal",
        ),
        ({"url": NEW_URL + '/c/{headers."X-User"}'}, "new.url", 'write headers."x-user"'),
        ({"url": NEW_URL + "/c/{path.id"}, "new.url", "unclosed"),
        ({"url": NEW_URL + "/c/{to_string(path.id)}"}, "new.url", "plain field path"),
        ({"url": "${NEW_URL}/c"}, "new.url", "environment variable NEW_URL is not set"),
        ({"handler": "no_such_module:f"}, "new.handler", "not importable"),
        ({"handler": "new_handlers:missing"}, "new.handler", "has no 'missing'"),
        ({"handler": "new_handlers:NOT_CALLABLE"}, "new.handler", "is not callable"),
        ({"handler": "new_handlers.sync_customer"}, "new.handler", "package.module:function"),
        ({"url": NEW_URL, "response": "id["}, "new.response", "not a valid JMESPath"),
        ({}, "new", "exactly one of url"),
        ({"url": NEW_URL, "handler": "new_handlers:sync_customer"}, "new", "exactly one of url"),
        (
            {"handler": "new_handlers:sync_customer", "headers": ["x-a"]},
            "new",
            "apply to url only",
        ),
        ({"url": NEW_URL, "headers": ["Connection"]}, "new.headers", "hop-by-hop"),
        ({"url": NEW_URL, "headers": ["proxy-authorization"]}, "new.headers", "hop-by-hop"),
        ({"url": NEW_URL, "headers": ["bad header"]}, "new.headers", "not a header name"),
        ({"url": NEW_URL, "colour": "red"}, "new.colour", "allowed here: url, handler"),
        (None, "migration.mode", "no new: section"),
    ],
)
def test_bad_new_sections_are_located_problems(
    tmp_path: Path, new: dict[str, Any] | None, field: str, message: str
) -> None:
    found_field, found_message = only(tmp_path, document(new))
    assert found_field == field
    assert message in found_message, found_message


def test_an_unknown_mode_lists_the_ones_there_are(tmp_path: Path) -> None:
    field, message = only(tmp_path, document({"url": NEW_URL}, mode="blue"))
    assert field == "migration.mode"
    assert "'legacy'" in message and "'new'" in message


def test_mode_legacy_with_a_new_section_is_proved_too(tmp_path: Path) -> None:
    doc = document({"url": NEW_URL + "/{path.nope}"}, mode="legacy")
    assert only(tmp_path, doc)[0] == "new.url"


def test_facade_check_reports_new_section_problems(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(document({"url": "http://{query.host}/x"})), encoding="utf-8"
    )
    args = ["check", "--mappings", str(tmp_path), "--wsdl", str(WSDL)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "bad.yaml: new.url: " in result.output
    assert "placeholders may not appear in the scheme, host or port" in result.output
