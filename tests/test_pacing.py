"""The pacer lets a newcomer through after a few turns, however many tasks are waiting."""

from __future__ import annotations

import asyncio

import pytest

from facade.pacing import Pacer


async def position_of_newcomer(width: int, waiting: int) -> int:
    """Where a task that arrives after `waiting` paced tasks finishes, in completion order."""
    pacer = Pacer(width)
    order: list[str] = []

    async def paced(number: int) -> None:
        await pacer.turn()
        order.append(f"paced-{number}")

    async def newcomer() -> None:
        await asyncio.sleep(0)
        order.append("newcomer")

    tasks = [asyncio.create_task(paced(i)) for i in range(waiting)]
    await asyncio.sleep(0)  # every paced task has started and waits for its turn
    tasks.append(asyncio.create_task(newcomer()))
    await asyncio.gather(*tasks)
    assert len(order) == waiting + 1
    return order.index("newcomer")


@pytest.mark.parametrize("waiting", [20, 2000])
def test_newcomer_passes_after_a_few_turns(waiting: int) -> None:
    assert asyncio.run(position_of_newcomer(width=2, waiting=waiting)) <= 4


def test_without_pacing_the_newcomer_waits_for_everyone() -> None:
    """The contrast: a pacer as wide as the crowd lets all of them go first."""
    assert asyncio.run(position_of_newcomer(width=2000, waiting=2000)) == 2000
