"""Typing JMESPath results through JSON Schemas."""

from __future__ import annotations

from typing import Any

import jmespath
import pytest

from facade.contracts.expressions import infer

COMPONENTS: dict[str, Any] = {
    "Line": {
        "type": "object",
        "properties": {"Sku": {"type": "string"}, "Qty": {"type": "integer"}},
        "required": ["Sku", "Qty"],
    },
}
OUTPUT = {
    "type": "object",
    "properties": {
        "Order": {
            "type": "object",
            "properties": {
                "Id": {"type": "integer"},
                "Note": {"type": "string"},
                "Lines": {
                    "type": "object",
                    "properties": {
                        "Line": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}}
                    },
                    "required": ["Line"],
                },
            },
            "required": ["Id", "Lines"],
        }
    },
    "required": ["Order"],
}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    return COMPONENTS[schema["$ref"].rsplit("/", 1)[1]]


def _infer(expression: str) -> Any:
    return infer(jmespath.compile(expression).parsed, OUTPUT, _resolve)


def test_field_and_subexpression() -> None:
    assert _infer("Order.Id") == {"type": "integer"}


def test_optional_member_may_be_null() -> None:
    assert _infer("Order.Note") == {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_multi_select_hash_renames() -> None:
    assert _infer("Order.{id: Id}") == {
        "type": "object",
        "properties": {"id": {"type": "integer"}},
        "required": ["id"],
    }


def test_projection_through_a_ref() -> None:
    assert _infer("Order.Lines.Line[].{sku: Sku}") == {
        "type": "array",
        "items": {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]},
    }
    assert _infer("Order.Lines.Line[*].Qty") == {"type": "array", "items": {"type": "integer"}}


def test_index_may_be_null() -> None:
    assert _infer("Order.Lines.Line[0]") == {
        "anyOf": [{"$ref": "#/components/schemas/Line"}, {"type": "null"}]
    }


def test_identity_is_the_whole_value() -> None:
    assert _infer("@") == OUTPUT


@pytest.mark.parametrize(
    "expression", ["length(Order.Lines.Line)", "Order.Lines.Line[?Qty > `1`]", "Order | Id", "Nope"]
)
def test_what_cannot_be_typed_says_so(expression: str) -> None:
    assert _infer(expression) is None
