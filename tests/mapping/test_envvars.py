"""`${VAR}`, `${VAR:-default}` and `$${` in the string values of a parsed mapping."""

from __future__ import annotations

import pytest

from facade.mapping.envvars import MissingVariable, expand

ENV = {"CRM_URL": "http://crm.internal", "PORT": "8080", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${CRM_URL}", "http://crm.internal"),
        ("${CRM_URL}:${PORT}/crm", "http://crm.internal:8080/crm"),
        ("no references", "no references"),
        ("${EMPTY}", ""),
        ("${EMPTY:-fallback}", ""),  # set but empty is still set
        ("${UNSET:-http://127.0.0.1:8081/crm}", "http://127.0.0.1:8081/crm"),
        ("${UNSET:-}", ""),
        ("${UNSET:-a:-b}", "a:-b"),
        ("${PORT:-9}", "8080"),
        ("$${CRM_URL}", "${CRM_URL}"),
        ("$${UNSET}", "${UNSET}"),
        ("cost: $${", "cost: ${"),
        ("$$${PORT}", "$${PORT}"),
        ("$CRM_URL ${ CRM_URL } ${CRM-URL} ${1X}", "$CRM_URL ${ CRM_URL } ${CRM-URL} ${1X}"),
    ],
)
def test_string_expansion(text: str, expected: str) -> None:
    assert expand(text, ENV) == expected


def test_expanded_value_is_not_expanded_again() -> None:
    assert expand("${A}", {"A": "${B}", "B": "no"}) == "${B}"


def test_only_values_expand_never_keys() -> None:
    value = {"${PORT}": "${PORT}", "list": ["${PORT}", {"${PORT}": "${PORT}"}]}
    assert expand(value, ENV) == {"${PORT}": "8080", "list": ["8080", {"${PORT}": "8080"}]}


def test_other_scalars_pass_through() -> None:
    value = {"n": None, "b": True, "i": 3, "f": 1.5, 7: "x"}
    assert expand(value, ENV) == value


def test_missing_variable_names_variable_and_place() -> None:
    with pytest.raises(MissingVariable) as caught:
        expand({"legacy": {"request": {"Id": "ok", "Key": "${API_KEY}"}}}, ENV)
    assert caught.value.name == "API_KEY"
    assert caught.value.where == "legacy.request.Key"
    assert str(caught.value) == (
        "environment variable API_KEY is not set (set it, or give a default: ${API_KEY:-value})"
    )


def test_missing_variable_inside_a_list_names_the_index() -> None:
    with pytest.raises(MissingVariable) as caught:
        expand({"route": {"tags": ["a", "${TAG}"]}}, {})
    assert caught.value.where == "route.tags.1"


def test_top_level_string_has_no_place() -> None:
    with pytest.raises(MissingVariable) as caught:
        expand("${NOPE}", {})
    assert caught.value.where == ""
