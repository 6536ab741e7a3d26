"""Route paths: one rule for parameters, matching order and overlap."""

from __future__ import annotations

import pytest

from facade.paths import (
    RESERVED_PATHS,
    ambiguous,
    dominates,
    is_template,
    overlaps,
    path_parameters,
    segments,
    sort_key,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ()),
        ("/v1/customers", ("v1", "customers")),
        ("/v1/customers/{id}", ("v1", "customers", None)),
        ("/{a}/x/{b}", (None, "x", None)),
    ],
)
def test_segments(path: str, expected: tuple[str | None, ...]) -> None:
    assert segments(path) == expected


def test_path_parameters_in_order() -> None:
    assert path_parameters("/v1/{customer}/orders/{id}") == ("customer", "id")
    assert path_parameters("/v1/customers") == ()


@pytest.mark.parametrize("path", ["/", "/a", "/a/{b}", "/{a}/b.c~d-e_f"])
def test_templates(path: str) -> None:
    assert is_template(path)


@pytest.mark.parametrize("path", ["", "a", "/a/", "//", "/a//b", "/a{b}", "/{1a}", "/a b"])
def test_not_templates(path: str) -> None:
    assert not is_template(path)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("/v1/customers/search", "/v1/customers/{id}"),
        ("/customers/{id}", "/customers/{key}"),
        ("/a/{x}/c", "/a/b/{y}"),
        ("/a/b", "/a/b"),
        ("/{x}", "/metrics"),
    ],
)
def test_overlapping(a: str, b: str) -> None:
    assert overlaps(a, b) and overlaps(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("/a/b", "/a/c"),
        ("/a/{x}", "/a/{x}/c"),
        ("/", "/{x}"),  # a parameter takes one non-empty segment
        ("/a/{x}/c", "/a/b/d"),
    ],
)
def test_not_overlapping(a: str, b: str) -> None:
    assert not overlaps(a, b) and not overlaps(b, a)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("/v1/customers/search", "/v1/customers/{id}", False),
        ("/a/b/{y}", "/{x}/{z}/{y}", False),
        ("/customers/{id}", "/customers/{key}", True),
        ("/customers/{id}", "/customers/{id}", True),
        ("/a/b", "/a/b", True),
        ("/a/{x}/c", "/a/b/{y}", True),
        ("/{x}/b", "/a/{y}", True),
        ("/a/b", "/a/c", False),  # no overlap, nothing to decide
    ],
)
def test_ambiguous(a: str, b: str, expected: bool) -> None:
    assert ambiguous(a, b) is expected
    assert ambiguous(b, a) is expected


def test_dominance_is_strict() -> None:
    assert dominates("/v1/customers/search", "/v1/customers/{id}")
    assert not dominates("/v1/customers/{id}", "/v1/customers/search")
    assert not dominates("/customers/{id}", "/customers/{key}")
    assert not dominates("/a/b", "/a/b")
    assert not dominates("/a/b", "/a/b/{c}")


def test_sort_key_puts_literals_first_segment_by_segment() -> None:
    given = ["/{a}/{b}", "/{a}/b", "/a/{b}", "/a/b", "/a", "/{a}"]
    assert sorted(given, key=sort_key) == ["/a", "/a/b", "/a/{b}", "/{a}", "/{a}/b", "/{a}/{b}"]


def test_sort_key_is_equal_for_the_same_pattern() -> None:
    assert sort_key("/customers/{id}") == sort_key("/orders/{key}")


def test_reserved_paths_are_templates() -> None:
    assert "/healthz" in RESERVED_PATHS and "/openapi.json" in RESERVED_PATHS
    assert all(is_template(path) and not path_parameters(path) for path in RESERVED_PATHS)
