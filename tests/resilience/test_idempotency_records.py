"""The idempotency coordinator and its in-memory record store, alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from facade.errors import ConfigError, IdempotencyKeyInFlight, IdempotencyKeyReused
from facade.mapping.loader import load_mappings
from facade.resilience.idempotency import Idempotency, MemoryRecords, Record
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent.parent


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(size: int) -> Record[str]:
    return Record("print", "answer", size)


def test_records_expire_after_their_time_to_live() -> None:
    clock = Clock()
    store: MemoryRecords[str] = MemoryRecords(ttl=10, clock=clock)
    store.put("k", record(100))
    clock.now = 9.9
    assert store.get("k") is not None
    clock.now = 10.1
    assert store.get("k") is None


def test_the_store_is_bounded_in_entries_and_bytes() -> None:
    store: MemoryRecords[str] = MemoryRecords(entries=3, max_bytes=1000)
    for n in range(10):
        store.put(f"k{n}", record(100))
    assert len(store) == 3 and store.get("k9") is not None
    store.put("big", record(900))
    assert store.used <= 1000 and store.get("big") is not None
    store.put("huge", record(5000))  # larger than the whole store: not kept
    assert store.get("huge") is None and store.used <= 1000


def test_a_repeat_waiting_past_its_bound_gets_409() -> None:
    async def scenario() -> None:
        keys: Idempotency[str] = Idempotency(MemoryRecords())
        release = asyncio.Event()

        async def slow() -> str:
            await release.wait()
            return "done"

        def run(wait: float) -> asyncio.Task[tuple[str, bool]]:
            return asyncio.create_task(keys.run("k", "p", slow, lambda a: True, len, wait))

        first = run(5)
        await asyncio.sleep(0)
        with pytest.raises(IdempotencyKeyInFlight):
            await run(0.05)
        with pytest.raises(IdempotencyKeyReused):  # another request, same key
            await keys.run("k", "other", slow, lambda a: True, len, 5)
        waiting = run(5)
        release.set()
        assert await first == ("done", False)
        assert await waiting == ("done", True)

    asyncio.run(scenario())


def test_a_first_request_that_ends_without_an_answer_releases_the_key() -> None:
    async def scenario() -> None:
        keys: Idempotency[str] = Idempotency(MemoryRecords())

        async def broken() -> str:
            await asyncio.sleep(0.01)
            raise RuntimeError("cancelled or crashed")

        async def fine() -> str:
            return "done"

        first = asyncio.create_task(keys.run("k", "p", broken, lambda a: True, len, 5))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(keys.run("k", "p", fine, lambda a: True, len, 5))
        with pytest.raises(RuntimeError):
            await first
        with pytest.raises(IdempotencyKeyInFlight):
            await waiter
        assert await keys.run("k", "p", fine, lambda a: True, len, 5) == ("done", False)

    asyncio.run(scenario())


def test_check_refuses_idempotency_on_a_safe_route(tmp_path: Path) -> None:
    document = {
        "route": {"method": "GET", "path": "/v1/customers/{id}"},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "http://127.0.0.1:9/crm",
            "request": {"CustomerId": "path.id"},
        },
        "resilience": {"idempotency": True},
    }
    (tmp_path / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        build_route_table(load_mappings(tmp_path, {}), WsdlRegistry(ROOT / "wsdl"))
    [problem] = refused.value.problems
    assert problem.field == "resilience.idempotency"
    assert problem.file.endswith("get-customer.yaml")
