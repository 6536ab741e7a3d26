"""FlagControl: flips and their refusals, the kill switch, guard trips, ramp steps, with a
clock the test moves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from facades import legacy

from facade.mapping.loader import RouteMapping, load_mappings
from facade.migration.control import FlagControl, FlipRefused
from facade.migration.flags import FACADE, MemoryFlagStore
from facade.migration.state import FileFlagStore

NEW = {"url": "http://127.0.0.1:9/customers/{path.id}"}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def mapping(path: str, new: bool = True, **migration: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "route": {"method": "GET", "path": path},
        "legacy": legacy("GetCustomer", {"CustomerId": "path.id"}),
        "migration": migration,
    }
    if new:
        document["new"] = NEW
    return document


def routes(folder: Path, documents: dict[str, dict[str, Any]]) -> list[RouteMapping]:
    for name, document in documents.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document))
    return load_mappings(folder)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def control(tmp_path: Path, clock: Clock) -> FlagControl:
    documents = {
        "get-customer": mapping("/c/{id}"),
        "get-order": mapping("/o/{id}", new=False),
        "guarded": mapping("/g/{id}", mode="new", guard={"error_rate": 0.2, "window": 10}),
        "ramping": mapping("/r/{id}", mode="canary", percent=80, ramp={"step": 10, "every": "1m"}),
    }
    found = routes(tmp_path, documents)
    has_new = [r.name for r in found if r.new is not None]
    return FlagControl(found, MemoryFlagStore(), has_new=has_new, clock=clock, retire_after=60)


def test_a_flip_overrides_the_declaration_and_tells_the_listeners(control: FlagControl) -> None:
    told: list[str] = []
    control.listeners.append(told.append)
    assert control.setting("get-customer") == ("legacy", 0.0)
    control.flip("get-customer", "canary", 25, "ticket 42", "alice")
    assert control.setting("get-customer") == ("canary", 25.0)
    assert control.setting("get-customer") == ("canary", 25.0)
    assert told == ["get-customer"]  # once per change, not per request
    entry = control.history("get-customer")[-1]
    assert (entry.who, entry.from_mode, entry.to_mode, entry.percent) == (
        "alice",
        "legacy",
        "canary",
        25.0,
    )
    assert (entry.reason, entry.automatic) == ("ticket 42", False)
    control.reset("get-customer", "done", "bob")
    assert control.setting("get-customer") == ("legacy", 0.0)
    assert control.history("get-customer")[-1].who == "bob"


@pytest.mark.parametrize(
    ("route", "mode", "percent", "field", "status"),
    [
        ("nope", "new", None, "route", 404),
        ("get-customer", "sideways", None, "mode", 422),
        ("get-order", "canary", 10, "mode", 422),
        ("get-order", "shadow", None, "mode", 422),
        ("get-order", "new", None, "mode", 422),
        ("get-customer", "canary", 101, "percent", 422),
        ("get-customer", "canary", -1, "percent", 422),
        ("get-customer", "canary", float("nan"), "percent", 422),
        ("get-customer", "new", 10, "percent", 422),
        ("get-customer", "canary", None, "percent", 422),
    ],
)
def test_a_flip_that_makes_no_sense_is_refused_naming_the_field(
    control: FlagControl, route: str, mode: str, percent: float | None, field: str, status: int
) -> None:
    with pytest.raises(FlipRefused) as refused:
        control.flip(route, mode, percent, "", "alice")
    assert (refused.value.field, refused.value.status) == (field, status)
    assert control.history() == []


def test_the_kill_switch_sends_every_route_to_legacy(control: FlagControl) -> None:
    control.flip("get-customer", "new", None, "", "alice")
    moved = control.kill("incident 7", "bob")
    assert moved == ["get-customer", "guarded", "ramping"]
    assert {name: control.setting(name)[0] for name in control.declared} == dict.fromkeys(
        control.declared, "legacy"
    )
    assert {e.route for e in control.history() if e.reason == "incident 7"} == set(moved)


def test_a_new_side_that_starts_failing_trips_the_guard(control: FlagControl) -> None:
    for _ in range(10):
        control.served("guarded", "new", failed=False)
    assert control.setting("guarded") == ("new", 0.0)
    control.served("guarded", "new", failed=True)
    control.served("guarded", "legacy-fallback", failed=False)  # a fallback is a failed call
    assert control.setting("guarded") == ("new", 0.0)  # 2 in 10: not above 0.2
    control.served("guarded", "new", failed=True)
    assert control.setting("guarded") == ("legacy", 0.0)
    trip = control.history("guarded")[-1]
    assert (trip.who, trip.automatic, trip.figure, trip.threshold) == (FACADE, True, 0.3, 0.2)
    assert "error_rate 0.3 over the last 10 calls crossed 0.2" in trip.reason
    for _ in range(20):  # tripped: it stays on legacy, however the new side does
        control.served("guarded", "new", failed=False)
    assert control.setting("guarded")[0] == "legacy"
    assert control.describe("guarded")["override"]["tripped"] is True
    control.flip("guarded", "new", None, "fixed", "alice")  # only an operator moves it again
    assert control.setting("guarded")[0] == "new"
    assert control.describe("guarded")["guard"]["calls"] == 0  # the old figures are gone


def test_a_4xx_of_the_new_side_is_not_an_error(control: FlagControl) -> None:
    for _ in range(10):
        control.served("guarded", "new", failed=False)  # what the app passes for a 404
    assert control.describe("guarded")["guard"]["error_rate"] == 0.0


def test_a_shadow_route_over_its_mismatch_rate_is_marked_failing(
    tmp_path: Path, clock: Clock
) -> None:
    guard = {"mismatch_rate": 0.5, "window": 4}
    found = routes(tmp_path, {"shadowed": mapping("/s/{id}", mode="shadow", guard=guard)})
    control = FlagControl(found, MemoryFlagStore(), has_new=["shadowed"], clock=clock)
    for result in ("match", "mismatch", "mismatch", "error", "skipped"):
        control.compared("shadowed", result)
    assert control.describe("shadowed")["failing"] is False  # 3 comparisons: no full window
    control.compared("shadowed", "mismatch")
    described = control.describe("shadowed")
    assert (described["failing"], described["guard"]["mismatch_rate"]) == (True, 0.75)
    assert control.setting("shadowed")[0] == "shadow"  # shadow is marked, not flipped


def test_a_ramp_steps_every_period_then_becomes_new(control: FlagControl, clock: Clock) -> None:
    assert control.ramp_tick(control.ramp_snapshot()) == []  # the ramp starts now
    clock.now += 59
    assert control.ramp_tick(control.ramp_snapshot()) == []
    clock.now += 1
    [step] = control.ramp_tick(control.ramp_snapshot())
    assert (step.to_mode, step.percent, step.automatic, step.who) == ("canary", 90.0, True, FACADE)
    assert control.setting("ramping") == ("canary", 90.0)
    ramp = control.describe("ramping")["ramp"]
    assert (ramp["state"], ramp["next_percent"]) == ("running", 100.0)
    clock.now += 30
    assert control.ramp_tick(control.ramp_snapshot()) == []
    clock.now += 30
    [step] = control.ramp_tick(control.ramp_snapshot())
    assert (step.to_mode, control.setting("ramping")) == ("new", ("new", 0.0))
    clock.now += 600
    assert control.ramp_tick(control.ramp_snapshot()) == []


def test_a_tripped_ramp_stops(tmp_path: Path, clock: Clock) -> None:
    ramp = {"step": 10, "every": "10s"}
    guard = {"error_rate": 0.5, "window": 2}
    found = routes(
        tmp_path, {"r": mapping("/r/{id}", mode="canary", percent=10, ramp=ramp, guard=guard)}
    )
    control = FlagControl(found, MemoryFlagStore(), has_new=["r"], clock=clock)
    control.ramp_tick(control.ramp_snapshot())
    control.served("r", "new", failed=True)
    control.served("r", "new", failed=True)
    assert control.setting("r") == ("legacy", 0.0)
    clock.now += 3600
    assert control.ramp_tick(control.ramp_snapshot()) == []
    assert control.setting("r") == ("legacy", 0.0)
    assert control.describe("r")["ramp"]["state"] == "tripped"


def test_a_ramp_waits_for_enough_calls(tmp_path: Path, clock: Clock) -> None:
    ramp = {"step": 10, "every": "10s", "min_calls": 3}
    found = routes(tmp_path, {"r": mapping("/r/{id}", mode="canary", percent=10, ramp=ramp)})
    control = FlagControl(found, MemoryFlagStore(), has_new=["r"], clock=clock)
    control.ramp_tick(control.ramp_snapshot())
    clock.now += 10
    control.served("r", "new", failed=False)
    control.served("r", "new", failed=False)
    assert control.ramp_tick(control.ramp_snapshot()) == []
    control.served("r", "new", failed=False)
    assert [e.percent for e in control.ramp_tick(control.ramp_snapshot())] == [20.0]


def test_workers_sharing_a_state_file_step_once_per_period(tmp_path: Path, clock: Clock) -> None:
    ramp = {"step": 10, "every": "10s"}
    found = routes(tmp_path, {"r": mapping("/r/{id}", mode="canary", percent=10, ramp=ramp)})
    workers = [
        FlagControl(found, FileFlagStore(tmp_path / "flags.json"), has_new=["r"], clock=clock)
        for _ in range(3)
    ]
    for worker in workers:
        worker.ramp_tick(worker.ramp_snapshot())
    clock.now += 10
    steps = [s for worker in workers for s in worker.ramp_tick(worker.ramp_snapshot())]
    assert [s.percent for s in steps] == [20.0]
    assert {worker.setting("r") for worker in workers} == {("canary", 20.0)}


def test_a_trip_in_one_worker_flips_every_worker(tmp_path: Path, clock: Clock) -> None:
    guard = {"error_rate": 0.5, "window": 2}
    found = routes(tmp_path, {"g": mapping("/g/{id}", mode="new", guard=guard)})
    store = tmp_path / "flags.json"
    one, two = (FlagControl(found, FileFlagStore(store), has_new=["g"], clock=clock) for _ in "12")
    one.served("g", "new", failed=True)
    one.served("g", "new", failed=True)
    assert two.setting("g") == ("legacy", 0.0)
    assert [e.automatic for e in two.history("g")] == [True]


def test_a_trip_holds_in_the_worker_when_the_state_file_is_corrupt(
    tmp_path: Path, clock: Clock
) -> None:
    guard = {"error_rate": 0.5, "window": 2}
    found = routes(tmp_path, {"g": mapping("/g/{id}", mode="new", guard=guard)})
    store = tmp_path / "flags.json"
    store.write_text("{broken")
    control = FlagControl(found, FileFlagStore(store), has_new=["g"], clock=clock)
    control.served("g", "new", failed=True)
    control.served("g", "new", failed=True)
    assert control.setting("g") == ("legacy", 0.0)
    assert store.read_text() == "{broken"
    with pytest.raises(FlipRefused) as refused:
        control.flip("g", "new", None, "", "alice")
    assert refused.value.status == 409


def test_a_route_in_new_without_fallbacks_for_the_period_is_retired(
    control: FlagControl, clock: Clock
) -> None:
    control.flip("get-customer", "new", None, "", "alice")
    assert control.describe("get-customer")["retired"] is False
    clock.now += 61
    assert control.describe("get-customer")["retired"] is True
    control.served("get-customer", "legacy-fallback", failed=False)
    assert control.describe("get-customer")["retired"] is False
    assert control.describe("get-order")["retired"] is False


def test_new_declarations_keep_the_overrides_that_still_make_sense(
    control: FlagControl, tmp_path: Path
) -> None:
    control.flip("get-customer", "new", None, "", "alice")
    control.flip("guarded", "canary", 5, "", "alice")
    assert control.setting("guarded") == ("canary", 5.0)
    assert control.setting("get-customer") == ("new", 0.0)
    folder = tmp_path / "edited"
    folder.mkdir()
    edited = routes(
        folder,
        {
            "get-customer": mapping("/c/{id}", mode="shadow"),
            "guarded": mapping("/g/{id}", new=False),  # its new: side is gone
        },
    )
    told: list[str] = []
    control.listeners.append(told.append)
    control.redeclare(edited, has_new=["get-customer"])
    assert control.setting("get-customer") == ("new", 0.0)
    assert control.setting("guarded") == ("legacy", 0.0)
    assert told == ["guarded"]
    assert sorted(control.declared) == ["get-customer", "guarded"]
