"""The per-origin call limit: FIFO turns, a bounded queue, a bounded wait, no leaks."""

from __future__ import annotations

import asyncio

import pytest

from facade.errors import BackendBusy
from facade.net import Deadline
from facade.net.limit import CallLimit


def test_turns_go_in_arrival_order() -> None:
    async def scenario() -> list[int]:
        limit = CallLimit(1, queue=10, queue_timeout=5)
        order: list[int] = []
        gate = asyncio.Event()

        async def call(number: int) -> None:
            async with limit.turn(Deadline.after(5)):
                order.append(number)
                await gate.wait()

        tasks = [asyncio.create_task(call(n)) for n in range(6)]
        await asyncio.sleep(0.01)
        assert (limit.in_flight, limit.waiting) == (1, 5)
        gate.set()
        await asyncio.gather(*tasks)
        assert (limit.in_flight, limit.waiting) == (0, 0)
        return order

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4, 5]


def test_beyond_the_queue_a_call_is_refused_at_once() -> None:
    async def scenario() -> None:
        limit = CallLimit(1, queue=2, queue_timeout=5)
        gate = asyncio.Event()

        async def hold() -> None:
            async with limit.turn(Deadline.after(5)):
                await gate.wait()

        tasks = [asyncio.create_task(hold()) for _ in range(3)]  # one in, two waiting
        await asyncio.sleep(0.01)
        with pytest.raises(BackendBusy) as refused:
            async with limit.turn(Deadline.after(5)):
                pass
        assert refused.value.status == 503 and "Retry-After" in refused.value.headers()
        gate.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


@pytest.mark.parametrize(("queue_timeout", "deadline"), [(0.05, 5.0), (5.0, 0.05)])
def test_a_wait_ends_at_the_queue_timeout_or_the_deadline(
    queue_timeout: float, deadline: float
) -> None:
    async def scenario() -> None:
        limit = CallLimit(1, queue=5, queue_timeout=queue_timeout)
        gate = asyncio.Event()

        async def hold() -> None:
            async with limit.turn(Deadline.after(5)):
                await gate.wait()

        holder = asyncio.create_task(hold())
        await asyncio.sleep(0.01)
        with pytest.raises(BackendBusy):
            async with limit.turn(Deadline.after(deadline)):
                pass
        assert limit.waiting == 0
        gate.set()
        await holder
        assert limit.in_flight == 0

    asyncio.run(scenario())


def test_cancelled_waiters_leave_no_place_taken() -> None:
    async def scenario() -> None:
        limit = CallLimit(2, queue=100, queue_timeout=5)
        gate = asyncio.Event()

        async def call() -> None:
            async with limit.turn(Deadline.after(5)):
                await gate.wait()

        tasks = [asyncio.create_task(call()) for _ in range(50)]
        await asyncio.sleep(0.01)
        for task in tasks[10:40]:
            task.cancel()
        gate.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert (limit.in_flight, limit.waiting) == (0, 0)
        async with limit.turn(Deadline.after(1)):  # still usable
            assert limit.in_flight == 1

    asyncio.run(scenario())
