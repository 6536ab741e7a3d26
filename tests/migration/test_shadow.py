"""The shadow runner on its own: bounded queue, bounded concurrency, drops, shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from facade.migration.compare import Answer, Rules
from facade.migration.records import ShadowRecords
from facade.migration.shadow import Call, ShadowJob, ShadowRunner
from facade.types import RouteName

LEGACY = Answer(200, {"id": 1, "at": "t1"})


def constant(answer: Answer | None) -> Call:
    async def call() -> Answer | None:
        return answer

    return call


def job(new: Call, legacy: Answer | None = LEGACY, **fields: Any) -> ShadowJob:
    return ShadowJob("r", "req-1", legacy, new, **fields)


def run(job: ShadowJob) -> tuple[str, dict[str, Any]]:
    records = ShadowRecords()
    result = asyncio.run(ShadowRunner(records).run(job))
    return result, records.snapshot()["r"]


def test_a_match_a_mismatch_and_errors_of_either_side() -> None:
    assert run(job(constant(LEGACY)))[0] == "match"
    result, figures = run(job(constant(Answer(200, {"id": 2, "at": "t1"}))))
    assert result == "mismatch"
    assert figures["recent_diffs"] == [{"path": "id", "legacy": 1, "new": 2, "request_id": "req-1"}]
    assert run(job(constant(None)))[1]["errors"] == {"legacy": 0, "new": 1}
    assert run(job(constant(LEGACY), legacy=None))[1]["errors"] == {"legacy": 1, "new": 0}


def test_the_rules_apply() -> None:
    new = constant(Answer(200, {"id": 1, "at": "t2"}))
    assert run(job(new))[0] == "mismatch"
    assert run(job(new, rules=Rules.parse(["at"])))[0] == "match"


def test_a_baseline_ignores_what_differs_between_two_legacy_answers() -> None:
    new = constant(Answer(200, {"id": 2, "at": "t3"}))
    again = constant(Answer(200, {"id": 1, "at": "t2"}))
    result, figures = run(job(new, legacy_again=again))
    assert result == "mismatch"
    assert [d["path"] for d in figures["recent_diffs"]] == ["id"]
    assert run(job(constant(Answer(200, {"id": 1, "at": "t3"})), legacy_again=again))[0] == "match"
    assert run(job(new, legacy_again=constant(None)))[1]["errors"] == {"legacy": 1, "new": 0}


def test_a_full_queue_drops_without_waiting_and_at_most_the_limit_runs_at_once() -> None:
    seen: list[tuple[RouteName, str | None]] = []

    async def scenario() -> tuple[bool, ...]:
        release = asyncio.Event()
        running = 0
        peak = 0

        async def slow() -> Answer | None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await release.wait()
            running -= 1
            return LEGACY

        runner = ShadowRunner(
            ShadowRecords(), lambda r, res: seen.append((r, res)), queue_size=2, concurrency=2
        )
        await runner.start()
        accepted = [runner.submit(job(slow)) for _ in range(2)]
        await asyncio.sleep(0.01)  # both workers take one job each: the queue is empty again
        accepted += [runner.submit(job(slow)) for _ in range(4)]
        assert peak == 2
        release.set()
        await runner.aclose()
        assert runner.records.snapshot()["r"]["comparisons"] == 4
        return tuple(accepted)

    assert asyncio.run(scenario()) == (True, True, True, True, False, False)
    assert seen.count(("r", None)) == 2
    assert seen.count(("r", "match")) == 4


def test_shutdown_cancels_what_cannot_finish_in_time() -> None:
    async def scenario() -> ShadowRecords:
        async def forever() -> Answer | None:
            await asyncio.Event().wait()
            return None

        runner = ShadowRunner(ShadowRecords(), concurrency=1)
        await runner.start()
        runner.submit(job(forever))
        await asyncio.sleep(0)
        await asyncio.wait_for(runner.aclose(drain=0.05), 1)
        assert not runner.submit(job(forever))  # closed: dropped, counted
        return runner.records

    # the one cancelled at shutdown and the one refused after it
    assert asyncio.run(scenario()).snapshot()["r"]["drops"] == 2


def test_a_failing_comparison_does_not_stop_the_worker() -> None:
    async def scenario() -> dict[str, Any]:
        async def broken() -> Answer | None:
            raise RuntimeError("bug")

        runner = ShadowRunner(ShadowRecords(), concurrency=1)
        await runner.start()
        runner.submit(job(broken))
        runner.submit(job(constant(LEGACY)))
        await runner.aclose()
        return runner.records.snapshot()["r"]

    assert asyncio.run(scenario())["matches"] == 1


def test_shadows_left_at_shutdown_are_counted_and_logged_as_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One running and two queued when the drain ends: three drops, one log line."""
    seen: list[tuple[RouteName, str | None]] = []

    async def scenario() -> int:
        async def forever() -> Answer | None:
            await asyncio.Event().wait()
            return None

        runner = ShadowRunner(ShadowRecords(), lambda r, res: seen.append((r, res)), 10, 1)
        await runner.start()
        for _ in range(3):
            runner.submit(job(forever))
        await asyncio.sleep(0)
        return await runner.aclose(drain=0.05)

    with caplog.at_level("WARNING", logger="facade.shadow"):
        assert asyncio.run(scenario()) == 3
    assert seen == [("r", None)] * 3
    [line] = [r for r in caplog.records if "dropped at shutdown" in r.getMessage()]
    assert line.fields["dropped"] == 3  # type: ignore[attr-defined]
