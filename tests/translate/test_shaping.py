"""Compiled response expressions answer exactly as jmespath's interpreter, on any JSON."""

from __future__ import annotations

from pathlib import Path

import jmespath
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from facade.translate.response import encode_json
from facade.translate.shaping import CompiledExpression, fast_expression
from facade.types import JSON

ROOT = Path(__file__).resolve().parent.parent.parent
NAMES = ["a", "b", "Id", "Order", "Orders"]

COMPILED = [
    "a",
    "a.b",
    "@",
    "a[]",
    "a[].b",
    "a[*].b",
    "a.*.b",
    "*.b",
    "a[0]",
    "a[-1].b",
    "a[0][1]",
    "a[][]",
    "a.b[].{Id: Id, x: a.b, l: `[1, 2]`, s: 'text'}",
    "{Orders: Orders.Order[].{Id: Id, Lines: b[]}}",
    "[a, b.Id, `null`]",
    "a | b | [0]",
    "a[].[Id, b]",
    "Orders.Order[].a.b[]",
]
INTERPRETED = ["length(a)", "a[?Id > `1`]", "a || b", "a[1:2]", "a && b", "!a", "a == b"]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.text(max_size=3),
    st.floats(allow_nan=False),
)
JSON_VALUES = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(NAMES), inner, max_size=4)
    ),
    max_leaves=30,
)


def mapping_expressions() -> list[str]:
    found = []
    for path in sorted((ROOT / "mappings").rglob("*.yaml")):
        response = yaml.safe_load(path.read_text(encoding="utf-8"))["legacy"].get("response")
        if response:
            found.append(response)
    return found


@pytest.mark.parametrize("text", COMPILED + mapping_expressions())
def test_compiled_expressions_answer_as_the_interpreter(text: str) -> None:
    parsed = jmespath.compile(text)
    compiled = fast_expression(parsed)
    assert isinstance(compiled, CompiledExpression)

    # 75 values for each of some 25 expressions: nearly 2,000 documents in all, drawn from
    # the few names the expressions use
    @settings(max_examples=75, deadline=None, database=None)
    @given(JSON_VALUES)
    def check(value: JSON) -> None:
        assert encode_json(compiled.search(value)) == encode_json(parsed.search(value))

    check()


@pytest.mark.parametrize("text", INTERPRETED)
def test_other_expressions_keep_the_interpreter(text: str) -> None:
    parsed = jmespath.compile(text)
    assert fast_expression(parsed) is parsed
