"""The flag stores: in-process, and the state file several worker processes share."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from facade.migration.flags import (
    AuditEntry,
    FlagState,
    MemoryFlagStore,
    Override,
    StateUnavailable,
)
from facade.migration.state import FileFlagStore, audit_path_for

WRITERS = 4
WRITES_EACH = 25


def override(mode: str = "canary", percent: float = 10.0) -> Override:
    return Override(mode, percent, "ticket 42", "alice", 1_700_000_000.0)  # type: ignore[arg-type]


def entry(route: str = "get-customer") -> AuditEntry:
    return AuditEntry(1_700_000_000.5, "alice", route, "legacy", 0.0, "canary", 10.0, "t", False)


def flip(route: str = "get-customer", mode: str = "canary"):  # type: ignore[no-untyped-def]
    def change(state: FlagState) -> tuple[FlagState, list[AuditEntry]]:
        return state.with_override(route, override(mode)), [entry(route)]

    return change


def test_the_memory_store_keeps_overrides_and_audit_in_the_process() -> None:
    store = MemoryFlagStore()
    store.update(flip())
    store.update(flip("get-order"))
    assert store.current().overrides["get-customer"] == override()
    assert [e.route for e in store.history()] == ["get-customer", "get-order"]
    assert [e.route for e in store.history("get-order")] == ["get-order"]
    assert store.problem() is None


def test_a_state_file_survives_a_restart_with_its_audit(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    FileFlagStore(path).update(flip())
    again = FileFlagStore(path)
    assert again.current().overrides == {"get-customer": override()}
    assert again.history() == [entry()]
    assert audit_path_for(path) == tmp_path / "flags.audit.jsonl"
    audit = (tmp_path / "flags.audit.jsonl").read_text().splitlines()
    assert json.loads(audit[0])["who"] == "alice"


def test_a_write_by_another_store_is_seen_on_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    # a stat an hour apart: the shared counter alone tells the reader
    reader, writer = FileFlagStore(path, stat_seconds=3600), FileFlagStore(path)
    before = reader.current()
    assert reader.current() is before  # nothing changed: the same state, no re-read
    writer.update(flip())
    assert reader.current().overrides["get-customer"].mode == "canary"
    writer.update(flip(mode="new"))
    assert reader.current().overrides["get-customer"].mode == "new"


def test_an_edit_by_hand_is_seen_once_the_file_is_looked_at_again(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    store = FileFlagStore(path, stat_seconds=3600)
    store.current()
    path.write_text(json.dumps(FlagState({"get-customer": override()}).as_json()))
    assert store.current() == FlagState()  # no write went through a store: not seen yet
    store.close()  # without the shared counter, every call looks at the file
    assert store.current().overrides == {"get-customer": override()}


def test_the_state_is_written_atomically_and_no_temp_file_is_left(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    store = FileFlagStore(path)
    for mode in ("canary", "new", "legacy"):
        store.update(flip(mode=mode))
    assert json.loads(path.read_text())["overrides"]["get-customer"]["mode"] == "legacy"
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []


def _write_many(path: str, writer: int) -> None:
    store = FileFlagStore(Path(path))
    for index in range(WRITES_EACH):
        name = f"route-{writer}-{index}"
        store.update(lambda state, name=name: (state.with_ramp_step(name, 1.0), [entry(name)]))


def test_writers_in_several_processes_never_lose_each_others_writes(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(str(path), w)) for w in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0] * WRITERS
    store = FileFlagStore(path)
    assert len(store.current().ramp_steps) == WRITERS * WRITES_EACH
    assert len(store.history()) == WRITERS * WRITES_EACH


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[]", b'{"overrides": {"x": {"mode": "sideways"}}}', b"\xff\xfe"],
    ids=["syntax", "not-an-object", "bad-mode", "binary"],
)
def test_a_corrupt_state_file_serves_the_declaration_and_is_never_overwritten(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "flags.json"
    path.write_bytes(content)
    store = FileFlagStore(path, stat_seconds=0)  # the repair below is an edit by hand
    assert store.current() == FlagState()
    problem = store.problem()
    assert problem is not None and str(path) in problem and "repaired" in problem
    with pytest.raises(StateUnavailable, match="repaired or removed"):
        store.update(flip())
    assert path.read_bytes() == content
    assert store.history() == []  # a refused flip is not audited
    path.write_text('{"overrides": {}}')  # the operator repairs it
    assert store.current() == FlagState()
    assert store.problem() is None
    store.update(flip())
    assert store.current().overrides["get-customer"].mode == "canary"


def test_an_unreadable_state_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    path.mkdir()  # a folder where the file should be: reading it fails
    store = FileFlagStore(path)
    assert store.current() == FlagState()
    assert "cannot be used" in (store.problem() or "")


def test_a_bad_audit_line_is_skipped_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    store = FileFlagStore(path)
    store.update(flip())
    with audit_path_for(path).open("a") as audit:
        audit.write("half a line\n")
    store.update(flip("get-order"))
    assert [e.route for e in store.history()] == ["get-customer", "get-order"]


def test_an_audit_path_of_its_own(tmp_path: Path) -> None:
    audit = tmp_path / "logs" / "flips.jsonl"
    store = FileFlagStore(tmp_path / "flags.json", audit)
    store.update(flip())
    assert FileFlagStore(tmp_path / "flags.json", audit).history() == [entry()]
    assert not audit_path_for(tmp_path / "flags.json").exists()


def test_overrides_and_audit_entries_round_trip_through_json() -> None:
    tripped = Override("legacy", 0.0, "guard", "facade", 5.0, automatic=True, tripped=True)
    state = FlagState({"a": tripped}, {"b": 7.5})
    assert FlagState.from_json(json.loads(json.dumps(state.as_json()))) == state
    trip = AuditEntry(1.25, "facade", "a", "new", 0.0, "legacy", 0.0, "guard", True, 0.5, 0.05)
    assert AuditEntry.from_json(trip.as_json()) == trip
    with pytest.raises(ValueError):
        Override.from_json({"mode": "new", "percent": "ten"})
