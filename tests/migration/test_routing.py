"""Sticky canary bucketing and the fallback rule, as pure functions."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from facade.migration.routing import (
    BUCKETS,
    bucket,
    may_fall_back,
    side_for,
    sticky_key,
    threshold,
)

ROOT = Path(__file__).resolve().parents[2]
CALLERS = [f"user-{n}" for n in range(1000)]


def on_new(percent: float, route: str = "get-customer") -> set[str]:
    return {c for c in CALLERS if side_for("canary", percent, route, c) == "new"}


def test_a_bucket_is_a_blake2b_digest_of_route_nul_key() -> None:
    digest = hashlib.blake2b(b"get-customer\0u-42", digest_size=8).digest()
    assert bucket("get-customer", "u-42") == int.from_bytes(digest, "big") % BUCKETS
    assert all(0 <= bucket("r", c) < BUCKETS for c in CALLERS)


def test_the_same_caller_lands_in_the_same_bucket_in_another_process() -> None:
    code = "from facade.migration.routing import bucket; print(bucket('get-customer', 'u-42'))"
    run = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert int(run.stdout) == bucket("get-customer", "u-42")


def test_the_route_name_separates_buckets() -> None:
    assert on_new(30, "get-customer") != on_new(30, "get-order")


@pytest.mark.parametrize("percent", [1, 10, 30, 50, 90])
def test_the_split_matches_the_percentage_over_1000_callers(percent: float) -> None:
    assert abs(len(on_new(percent)) - percent * 10) <= 50


def test_raising_only_moves_callers_to_new_and_lowering_only_back() -> None:
    steps = [0, 0.5, 1, 5, 10, 25, 33.33, 50, 75, 99.99, 100]
    for lower, higher in zip(steps, steps[1:], strict=False):
        assert on_new(lower) <= on_new(higher), (lower, higher)
    for higher, lower in zip(reversed(steps), list(reversed(steps))[1:], strict=False):
        assert on_new(lower) <= on_new(higher), (higher, lower)
    assert on_new(0) == set()
    assert on_new(100) == set(CALLERS)


def test_percent_is_honoured_to_a_hundredth() -> None:
    assert threshold(0.5) == 50
    assert threshold(0.57) == 57
    assert threshold(33.33) == 3333
    assert threshold(100) == BUCKETS


def test_modes_other_than_canary_ignore_the_bucket() -> None:
    assert side_for("legacy", 100, "r", "u") == "legacy"
    assert side_for("new", 0, "r", None) == "new"


def test_a_caller_without_a_key_stays_on_legacy() -> None:
    assert side_for("canary", 100, "r", None) == "legacy"


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (None, None),
        ("", None),
        ("u-1", "u-1"),
        (7, "7"),
        ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
        (["x"], '["x"]'),
    ],
)
def test_sticky_values_become_keys(value: object, key: str | None) -> None:
    assert sticky_key(value) == key


@pytest.mark.parametrize(
    ("fallback", "failed", "status", "expected"),
    [
        (True, "new", 502, True),
        (True, "new", 504, True),
        (True, "new", 404, False),
        (True, "legacy", 502, False),
        (True, None, 500, False),
        (False, "new", 502, False),
    ],
)
def test_only_a_new_side_failure_falls_back(
    fallback: bool, failed: str | None, status: int, expected: bool
) -> None:
    assert may_fall_back(fallback, failed, status) is expected  # type: ignore[arg-type]
