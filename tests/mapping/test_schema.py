"""The shipped JSON Schema of the mapping format is current and describes the real files."""

from __future__ import annotations

from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from facade.mapping.schema import SCHEMA_PATH, mapping_json_schema, render

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_schema_is_generated_from_the_models() -> None:
    assert SCHEMA_PATH.read_bytes() == render(), (
        "facade/schemas/mapping.schema.json is stale: run python -m facade.mapping.schema"
    )


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(mapping_json_schema())


def test_every_demo_mapping_validates() -> None:
    validator = Draft202012Validator(mapping_json_schema())
    files = sorted((ROOT / "mappings").rglob("*.yaml"))
    assert files
    for path in files:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], f"{path}: {errors[0].message if errors else ''}"


def test_schema_rejects_an_unknown_key() -> None:
    validator = Draft202012Validator(mapping_json_schema())
    document = {
        "route": {"method": "GET", "path": "/x", "colour": "red"},
        "legacy": {"wsdl": "a.wsdl", "operation": "A"},
    }
    messages = [e.message for e in validator.iter_errors(document)]
    assert any("colour" in m for m in messages)
