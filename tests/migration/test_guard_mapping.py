"""`migration.guard` and `migration.ramp` in a mapping: what loads, and what `facade check`
refuses, with the file and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_shadow_mapping import check, document, problems_of, write

from facade.durations import seconds
from facade.mapping.loader import GuardPolicy, RampPolicy, read_mapping


def test_a_guarded_ramping_canary_loads(tmp_path: Path) -> None:
    migration = {
        "mode": "canary",
        "percent": 10,
        "guard": {"error_rate": 0.05, "mismatch_rate": 0.01, "window": 200},
        "ramp": {"step": 10, "every": "10m", "min_calls": 50},
    }
    mapping = read_mapping(write(tmp_path, document(migration)), {})
    assert mapping.migration.guard == GuardPolicy(0.05, 0.01, 200)
    assert mapping.migration.ramp == RampPolicy(10.0, 600.0, 100.0, 50)
    assert problems_of(tmp_path, document(migration)) == []


@pytest.mark.parametrize(
    ("migration", "field", "says"),
    [
        ({"mode": "new", "ramp": {"step": 10, "every": "1m"}}, "migration", "canary only"),
        (
            {"mode": "canary", "percent": 50, "ramp": {"step": 10, "every": "1m", "max": 50}},
            "migration",
            "ramp.max must be above percent",
        ),
        (
            {"mode": "canary", "ramp": {"step": 10, "every": "soon"}},
            "migration.ramp.every",
            "not a duration",
        ),
        (
            {"mode": "canary", "ramp": {"step": 10, "every": "0s"}},
            "migration.ramp.every",
            "greater than 0",
        ),
        ({"mode": "canary", "ramp": {"step": 0, "every": "1m"}}, "migration.ramp.step", "greater"),
        ({"mode": "canary", "ramp": {"step": 10}}, "migration.ramp.every", "required"),
        ({"mode": "new", "guard": {"error_rate": 1.5}}, "migration.guard.error_rate", "1"),
        ({"mode": "new", "guard": {"mismatch_rate": 0}}, "migration.guard.mismatch_rate", "0"),
        ({"mode": "new", "guard": {"error_rate": 0.1, "window": 0}}, "migration.guard.window", "1"),
        ({"mode": "new", "guard": {"window": 10}}, "migration.guard", "error_rate"),
        ({"mode": "new", "guard": {"rate": 0.1}}, "migration.guard.rate", "unknown key"),
    ],
)
def test_guards_and_ramps_that_make_no_sense_are_refused(
    tmp_path: Path, migration: dict[str, Any], field: str, says: str
) -> None:
    [problem] = problems_of(tmp_path, document(migration))
    assert problem.field == field, problem
    assert says in problem.message, problem
    result = check(tmp_path)
    assert result.exit_code == 1
    assert f"route.yaml: {field}" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [("500ms", 0.5), ("30s", 30.0), ("10m", 600.0), ("1.5h", 5400.0), ("7d", 604800.0), ("2", 2.0)],
)
def test_durations(text: str, expected: float) -> None:
    assert seconds(text) == expected
