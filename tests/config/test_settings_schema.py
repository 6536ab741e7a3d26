"""The shipped JSON Schema of facade.yaml is current and describes the README's example."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from facade.config.schema import SCHEMA_PATH, render, settings_json_schema

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_schema_is_generated_from_the_models() -> None:
    assert SCHEMA_PATH.read_bytes() == render(), (
        "facade/schemas/facade.schema.json is stale: run python -m facade.config.schema"
    )


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(settings_json_schema())


def test_the_readme_example_validates() -> None:
    readme = (ROOT / "README.md").read_text()
    [example] = re.findall(r"```yaml\n# facade.yaml\n(.*?)```", readme, re.S)
    errors = list(Draft202012Validator(settings_json_schema()).iter_errors(yaml.safe_load(example)))
    assert errors == []


def test_schema_rejects_an_unknown_key() -> None:
    validator = Draft202012Validator(settings_json_schema())
    messages = [e.message for e in validator.iter_errors({"limits": {"colour": "red"}})]
    assert any("colour" in m for m in messages)
