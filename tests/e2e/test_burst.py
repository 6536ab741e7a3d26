"""Bounded bursts against the facade as a real process: overload never becomes a collapse.

Each test sends a fixed number of requests at once (one connection each) and stops by
itself; nothing here asserts a duration (the machine is shared), only that every answer
is the right one and that /healthz kept answering during the burst.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from bursts import health_probe, open_files
from processes import free_port, process
from servers import canned_soap, serve_in_thread

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENTS = 1000


@pytest.fixture(autouse=True)
def _enough_file_descriptors() -> None:
    open_files(3 * CLIENTS)


def facade_for(address: str, tmp_path: Path) -> Any:
    mapping = yaml.safe_load((ROOT / "mappings/customers/get-customer.yaml").read_text())
    mapping["legacy"]["address"] = address
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "get-customer.yaml").write_text(yaml.safe_dump(mapping), encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--mappings", str(folder), "--log-level", "warning"]
    return process([*args, "--wsdl", str(ROOT / "wsdl")], f"{base}/readyz"), base


async def burst(base: str, clients: int) -> tuple[collections.Counter[Any], list[int]]:
    """`clients` GETs at once, one connection each, while a probe polls /healthz."""
    statuses: collections.Counter[Any] = collections.Counter()

    async def one(session: aiohttp.ClientSession) -> None:
        try:
            async with session.get(f"{base}/v1/customers/1") as response:
                await response.read()
                statuses[response.status] += 1
        except aiohttp.ClientError as exc:
            statuses[type(exc).__name__] += 1

    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with health_probe(base) as health:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(*(one(session) for _ in range(clients)))
    return statuses, health


def test_burst_on_a_fast_backend_is_answered_without_timeouts(tmp_path: Path) -> None:
    with serve_in_thread(canned_soap) as backend:
        server, base = facade_for(f"{backend}/crm", tmp_path)
        with server:
            statuses, health = asyncio.run(burst(base, CLIENTS))
    assert statuses == {200: CLIENTS}
    assert health and set(health) == {200}


def test_burst_on_a_refusing_backend_is_502_then_503_once_the_breaker_opens(
    tmp_path: Path,
) -> None:
    """The first calls find the backend refusing (502); once 5 have failed, the origin's
    breaker answers the rest at once (503), without trying to connect."""
    server, base = facade_for(f"http://127.0.0.1:{free_port()}/crm", tmp_path)
    with server:
        statuses, health = asyncio.run(burst(base, CLIENTS))
    assert set(statuses) == {502, 503}
    assert 1 <= statuses[502] and statuses[502] + statuses[503] == CLIENTS
    assert health and set(health) == {200}
