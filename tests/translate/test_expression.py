"""One rule for "this expression names one place"."""

from __future__ import annotations

import pytest

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
