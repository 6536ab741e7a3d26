"""Per-route shadow figures: counts, a bounded sample of recent diffs, redaction."""

from __future__ import annotations

from facade.migration.compare import Difference
from facade.migration.records import REDACTED, SAMPLE_SIZE, ShadowRecords


def test_counts_by_result_per_route() -> None:
    records = ShadowRecords()
    assert records.compared("a", [], "r1") == "match"
    assert records.compared("a", [Difference("x", 1, 2)], "r2") == "mismatch"
    assert records.failed("a", "new") == "error"
    assert records.failed("a", "legacy") == "error"
    assert records.skipped("a") == "skipped"
    records.dropped("a")
    records.dropped("b")
    snapshot = records.snapshot()
    assert snapshot["a"] == {
        "comparisons": 4,
        "matches": 1,
        "mismatches": 1,
        "errors": {"legacy": 1, "new": 1},
        "drops": 1,
        "skipped": 1,
        "recent_diffs": [{"path": "x", "legacy": 1, "new": 2, "request_id": "r2"}],
    }
    assert snapshot["b"]["drops"] == 1 and snapshot["b"]["comparisons"] == 0


def test_only_the_most_recent_diffs_are_kept() -> None:
    records = ShadowRecords()
    for n in range(SAMPLE_SIZE + 5):
        records.compared("a", [Difference("x", n, -n)], f"r{n}")
    recent = records.snapshot()["a"]["recent_diffs"]
    assert len(recent) == SAMPLE_SIZE
    assert recent[0]["request_id"] == "r5" and recent[-1]["request_id"] == f"r{SAMPLE_SIZE + 4}"


def test_a_snapshot_is_a_copy() -> None:
    records = ShadowRecords()
    records.compared("a", [Difference("x", 1, 2)], "r1")
    records.snapshot()["a"]["recent_diffs"].clear()
    assert len(records.snapshot()["a"]["recent_diffs"]) == 1


def test_sensitive_values_are_redacted_by_name() -> None:
    records = ShadowRecords()
    found = [
        Difference("password", "hunter2", "hunter3"),
        Difference("auth.accessToken", "t1", "t2"),
        Difference("cards[0].number", "4111", "4222"),
        Difference("customer", {"name": "Ada", "IBAN": "GB1"}, {"name": "Al", "iban": "GB2"}),
        Difference("pin", "1234", "4321"),
        Difference("name", "Ada", "Alan"),
    ]
    records.compared("a", found, "r1", redact=("PIN",))
    shown = {d["path"]: (d["legacy"], d["new"]) for d in records.snapshot()["a"]["recent_diffs"]}
    assert shown == {
        "password": (REDACTED, REDACTED),
        "auth.accessToken": (REDACTED, REDACTED),
        "cards[0].number": (REDACTED, REDACTED),
        "customer": ({"name": "Ada", "IBAN": REDACTED}, {"name": "Al", "iban": REDACTED}),
        "pin": (REDACTED, REDACTED),
        "name": ("Ada", "Alan"),
    }


def test_only_the_kept_sample_is_built() -> None:
    """40,000 differences in one comparison: the record keeps the last few, and builds no
    more than those."""
    records = ShadowRecords()
    diffs = [Difference(f"items[{i}]", i, -i) for i in range(40_000)]
    records.compared("big", diffs, "r1")
    recent = records.snapshot()["big"]["recent_diffs"]
    assert len(recent) == SAMPLE_SIZE
    assert recent[-1]["path"] == "items[39999]"
