"""The contract check: the compiled validator's quick verdict always agrees with jsonschema's,
and the problems clients see are still jsonschema's.

Property: for every operation of the demo WSDL and of every corpus WSDL that loads, JSON
near the operation's input schema (schema_gen.py: fitting values and near misses) gets the
same valid/invalid answer from both validators wherever the quick one answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import drawn, wsdl_files, wsdl_label
from hypothesis import given
from hypothesis import strategies as st
from schema_gen import near

from facade.errors import ConfigError, FieldProblem
from facade.soap.facets import FacetIndex
from facade.soap.jsonschema import SchemaBuilder
from facade.soap.loader import load_wsdl
from facade.soap.operations import soap_operations
from facade.translate import validate
from facade.translate.validate import ArgumentValidator

PREFIX = "#/components/schemas/"
EXAMPLES = 40


@pytest.mark.parametrize("path", wsdl_files(), ids=wsdl_label)
def test_the_quick_verdict_is_jsonschemas(path: Path) -> None:
    try:
        loaded = load_wsdl(path)
    except ConfigError:
        pytest.skip("zeep does not load this WSDL")
    builder = SchemaBuilder(FacetIndex.from_documents(loaded.documents), PREFIX)
    schemas = [
        builder.message(candidates[0].binding.get(name).input.body)
        for name, candidates in soap_operations(loaded.client).items()
    ]
    components = builder.defs

    def resolve(ref: str) -> dict[str, Any]:
        return dict(components[ref.removeprefix(PREFIX)])

    validators: dict[int, ArgumentValidator] = {}
    verdicts: list[bool] = []

    @drawn(EXAMPLES)
    @given(st.data())
    def check(data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(schemas) - 1), label="operation")
        if index not in validators:
            validators[index] = ArgumentValidator(schemas[index], components)
        validator = validators[index]
        instance = data.draw(near(schemas[index], resolve), label="arguments")
        quick = validator.quick_verdict(instance)
        if quick is not None:
            assert quick == validator.explained_valid(instance), instance
            verdicts.append(quick)

    for _ in range(3 if schemas else 0):  # 40 draws may, rarely, all land on one side
        check()
        if set(verdicts) == {True, False}:
            break
    if schemas:  # both sides of the contract were tried
        assert set(verdicts) == {True, False}, verdicts


# --- the problems stay jsonschema's -------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {
        "Code": {"type": "string", "pattern": r"^(?:[A-Z]{2}\w*)$"},
        "Count": {"type": "integer", "minimum": 0, "maximum": 9},
        "Item": {"$ref": f"{PREFIX}t.Item"},
    },
    "additionalProperties": False,
    "required": ["Code"],
}
COMPONENTS = {
    "t.Item": {
        "type": "object",
        "properties": {"Name": {"type": "string", "maxLength": 3}},
        "additionalProperties": False,
        "required": ["Name"],
    }
}
FIELDS = {"Code": "query.code", "Count": "query.count", "Item": "body"}


@pytest.fixture
def validator() -> ArgumentValidator:
    return ArgumentValidator(SCHEMA, COMPONENTS)


def test_a_valid_request_is_answered_by_the_quick_check(validator: ArgumentValidator) -> None:
    arguments = {"Code": "AB1", "Count": 3, "Item": {"Name": "abc"}}
    assert validator.quick_verdict(arguments) is True
    assert validator.problems(arguments, FIELDS) == []


def test_an_invalid_request_gets_jsonschemas_problems(validator: ArgumentValidator) -> None:
    arguments = {"Count": 12, "Item": {"Name": "abcd", "Other": 1}}
    assert validator.quick_verdict(arguments) is False
    assert validator.problems(arguments, FIELDS) == [
        FieldProblem("body", "Additional properties are not allowed ('Other' was unexpected)"),
        FieldProblem("body.Name", "'abcd' is too long"),
        FieldProblem("query.code", "is required"),
        FieldProblem("query.count", "12 is greater than the maximum of 9"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "AB\u0301",  # a combining mark: \w in Rust's regex, not in Python's re
        "AB\x1c",  # a separator: \s in Python's re, not in Rust's regex
        "ABé",
    ],
)
def test_text_beyond_printable_ascii_is_judged_by_jsonschema(
    validator: ArgumentValidator, value: str
) -> None:
    arguments = {"Code": value}
    assert validator.quick_verdict(arguments) is None
    expected = validator.explained_valid(arguments)
    assert (validator.problems(arguments, FIELDS) == []) is expected


@pytest.mark.parametrize("count", [2**64, -(2**63) - 1, float("inf")])
def test_numbers_beyond_64_bits_are_judged_by_jsonschema(
    validator: ArgumentValidator, count: float
) -> None:
    arguments = {"Code": "AB", "Count": count}
    assert validator.quick_verdict(arguments) is None
    assert [p.field for p in validator.problems(arguments, FIELDS)] == ["query.count"]


def test_a_schema_the_compiled_check_refuses_is_checked_by_jsonschema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(document: dict[str, Any], **options: Any) -> None:
        raise ValueError("a pattern the engine does not take")

    monkeypatch.setattr(validate.jsonschema_rs, "Draft202012Validator", refuse)
    checked = ArgumentValidator(SCHEMA, COMPONENTS)
    assert checked.quick_verdict({"Code": "AB"}) is None
    assert checked.problems({"Code": "AB"}, FIELDS) == []
    assert [p.field for p in checked.problems({"Code": "x"}, FIELDS)] == ["query.code"]
