"""Comparing two answers: paths, ignore rules, sorting, decimals and the noise baseline."""

from __future__ import annotations

import pytest

from facade.migration.compare import (
    Answer,
    Difference,
    PathSyntaxError,
    Rules,
    compare,
    noise,
    parse_path,
    same_value,
    without,
)

NO_RULES = Rules()


def diffs(legacy: object, new: object, rules: Rules = NO_RULES) -> list[Difference]:
    return compare(Answer(200, legacy), Answer(200, new), rules)


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("updatedAt", ("updatedAt",)),
        ("customer.address", ("customer", "address")),
        ("lines[*].etag", ("lines", "*", "etag")),
        ("[*].id", ("*", "id")),
        ("matrix[*][*]", ("matrix", "*", "*")),
        ("x-trace", ("x-trace",)),
        ("$", ()),
    ],
)
def test_paths_are_dotted_names_and_every_item(text: str, steps: tuple[str, ...]) -> None:
    assert parse_path(text) == steps


@pytest.mark.parametrize("text", ["", "a..b", "lines[0]", "a.", "$.a", "a[*", "a b"])
def test_other_paths_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(PathSyntaxError, match="name|empty"):
        parse_path(text)


def test_equal_answers_have_no_difference() -> None:
    body = {"id": 1, "lines": [{"sku": "a"}], "note": None}
    assert diffs(body, {"id": 1, "lines": [{"sku": "a"}], "note": None}) == []


def test_the_status_is_compared_first() -> None:
    found = compare(Answer(200, {"a": 1}), Answer(404, {"a": 2}))
    assert found == [Difference("(status)", 200, 404), Difference("a", 1, 2)]


def test_differences_are_innermost_places_with_both_values() -> None:
    legacy = {"name": "Ada", "lines": [{"sku": "a", "qty": 1}], "gone": True}
    new = {"name": "Ada", "lines": [{"sku": "a", "qty": 2}], "extra": 1}
    assert diffs(legacy, new) == [
        Difference("lines[0].qty", 1, 2),
        Difference("gone", True, None),
        Difference("extra", None, 1),
    ]


def test_arrays_of_another_length_or_types_differ_as_a_whole() -> None:
    assert diffs({"a": [1, 2]}, {"a": [1]}) == [Difference("a", [1, 2], [1])]
    assert diffs([1], {"a": 1}) == [Difference("$", [1], {"a": 1})]


def test_ignored_places_and_everything_below_them_are_left_out() -> None:
    legacy = {"updatedAt": "x", "audit": {"by": "a"}, "lines": [{"etag": "1", "qty": 1}]}
    new = {"updatedAt": "y", "audit": {"by": "b"}, "lines": [{"etag": "2", "qty": 2}]}
    rules = Rules.parse(["updatedAt", "audit", "lines[*].etag"])
    assert diffs(legacy, new, rules) == [Difference("lines[0].qty", 1, 2)]


def test_an_ignore_path_is_anchored_at_the_top() -> None:
    rules = Rules.parse(["etag"])
    assert diffs({"line": {"etag": 1}}, {"line": {"etag": 2}}, rules) == [
        Difference("line.etag", 1, 2)
    ]


def test_every_item_matches_indices_only() -> None:
    rules = Rules.parse(["a[*]"])
    assert diffs({"a": {"b": 1}}, {"a": {"b": 2}}, rules) == [Difference("a.b", 1, 2)]


def test_arrays_sorted_by_a_key_compare_equal_in_any_order() -> None:
    legacy = {"lines": [{"sku": "b", "qty": 2}, {"sku": "a", "qty": 1}]}
    new = {"lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]}
    assert diffs(legacy, new) != []
    assert diffs(legacy, new, Rules.parse(sort=[("lines", "sku")])) == []


def test_nested_and_top_level_arrays_are_sorted_too() -> None:
    legacy = [{"id": 10, "tags": [{"k": "y"}, {"k": "x"}]}, {"id": 9, "tags": []}]
    new = [{"id": "9", "tags": []}, {"id": 10, "tags": [{"k": "x"}, {"k": "y"}]}]
    rules = Rules.parse(sort=[("$", "id"), ("[*].tags", "k")])
    assert diffs(legacy, new, rules) == []


def test_sorting_by_a_number_orders_by_value_whatever_the_spelling() -> None:
    legacy = {"a": [{"n": "10.0"}, {"n": "9"}]}
    new = {"a": [{"n": 9}, {"n": 10}]}
    assert diffs(legacy, new, Rules.parse(sort=[("a", "n")])) == []


@pytest.mark.parametrize(
    ("legacy", "new", "same"),
    [
        ("45.50", 45.5, True),
        ("45.50", 45.51, False),
        ("100", 100, True),
        ("1E+2", 100, True),
        (1, 1.0, True),
        ("45.50", "45.5", False),  # two strings as written: "007" is not "7"
        ("abc", 0, False),
        (True, 1, False),
        (None, 0, False),
        ("", 0, False),
    ],
)
def test_a_decimal_string_equals_the_number_it_spells(
    legacy: object, new: object, same: bool
) -> None:
    assert same_value(legacy, new) is same


def test_decimal_normalisation_inside_bodies() -> None:
    assert diffs({"total": "45.50"}, {"total": 45.5}) == []


def test_noise_is_where_two_answers_of_one_side_differ() -> None:
    first = Answer(200, {"at": "1", "id": 1, "lines": [{"etag": "a"}]})
    second = Answer(200, {"at": "2", "id": 1, "lines": [{"etag": "b"}]})
    assert noise(first, second) == ("at", "lines[0].etag")
    assert noise(first, Answer(500, first.body)) == ("(status)",)


def test_differences_at_or_below_noise_are_dropped() -> None:
    found = [
        Difference("at", "1", "x"),
        Difference("lines[0].etag", "a", "c"),
        Difference("lines[0].etagged", "a", "c"),
        Difference("name", "Ada", "Alan"),
    ]
    assert without(found, ("at", "lines[0]")) == [Difference("name", "Ada", "Alan")]
    assert without(found, ("lines[0].etag",)) == [found[0], found[2], found[3]]
    assert without(found, ("$",)) == []


def test_contract_violations_of_the_new_answer_are_differences() -> None:
    new = Answer(200, {"id": "one"}, violations=(("/id", "'one' is not of type 'integer'"),))
    assert compare(Answer(200, {"id": "one"}), new) == [
        Difference("(contract)/id", None, "'one' is not of type 'integer'")
    ]
