"""One rule for "this expression names one place"."""

from __future__ import annotations

import collections

import jmespath
import pytest
from jmespath.exceptions import JMESPathTypeError

from facade.translate.expression import field_path
from facade.translate.request import compile_expression


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("body", ("body",)),
        ("path.id", ("path", "id")),
        ("body.customer.name", ("body", "customer", "name")),
        ('headers."x-user-id"', ("headers", "x-user-id")),
        ('"body".first_name', ("body", "first_name")),
        ('body."a.b"', ("body", "a.b")),
    ],
)
def test_field_paths(text: str, names: tuple[str, ...]) -> None:
    assert field_path(compile_expression(text)) == names


@pytest.mark.parametrize(
    "text",
    ["@", "'literal'", "`1`", "body[0]", "body.items[*].id", "query.a || query.b", "length(body)"]
    + ["body.{id: id}", "body | id", "body.a[0].b", "path.id == '1'"],
)
def test_computed_expressions_are_not_field_paths(text: str) -> None:
    assert field_path(compile_expression(text)) is None


DATA = {
    "path": {"id": "7"},
    "query": {"tag": ["a", "b"], "q": "x"},
    "headers": {"x-user-id": "u1"},
    "body": {"items": [{"id": 2, "n": "b"}, {"id": 1, "n": "a"}], "name": None},
}


@pytest.mark.parametrize(
    "text",
    ["path.id", 'headers."x-user-id"', "query.tag[1]", "body.items[*].id", "body.name"]
    + ["sort_by(body.items, &id)[*].n", "query.missing || query.q", "length(body.items)"]
    + ["body.items[?id > `1`].n", "max_by(body.items, &id).n", "path.id.nothing", "@"],
)
def test_compiled_expressions_answer_as_jmespath_does(text: str) -> None:
    """One interpreter serves every search, with jmespath's answers (nested and repeated
    searches included, as the functions taking `&expression` make)."""
    compiled = compile_expression(text)
    assert compiled.search(DATA) == jmespath.search(text, DATA)
    assert compiled.search(DATA) == jmespath.search(text, DATA)


def test_compiled_expressions_take_jmespath_options() -> None:
    compiled = compile_expression("body.items[0]")
    options = jmespath.Options(dict_cls=collections.OrderedDict)
    assert compiled.search(DATA, options) == {"id": 2, "n": "b"}


def test_compiled_expressions_raise_as_jmespath_does() -> None:
    with pytest.raises(JMESPathTypeError):
        compile_expression("length(path.id.nothing.more)").search({"path": {"id": 3}})
    with pytest.raises(JMESPathTypeError):
        jmespath.search("length(path.id.nothing.more)", {"path": {"id": 3}})
