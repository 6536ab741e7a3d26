"""A thousand clients call one route while SIGHUP swaps in an edit of it: every call is
answered 200, by the old configuration or the new, and both answers are seen."""

from __future__ import annotations

import asyncio
import collections
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from bursts import open_files
from processes import Running, free_port, process
from servers import canned_soap, serve_in_thread

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
CLIENTS = 1000
OLD = {"Id": 1, "Name": "Ada Lovelace"}
NEW = {"name": "Ada Lovelace"}


@pytest.fixture(autouse=True)
def _enough_file_descriptors() -> None:
    open_files(3 * CLIENTS)


def mapping(address: str, response: str) -> str:
    document = yaml.safe_load((ROOT / "mappings/customers/get-customer.yaml").read_text())
    document["legacy"]["address"] = address
    document["legacy"]["response"] = response
    document.pop("new")
    return yaml.safe_dump(document)


async def swap_under_burst(base: str, running: Running, edit: Any) -> collections.Counter[Any]:
    """Every client calls in a loop on its own connection; once each has an answer, the
    mapping is edited and SIGHUP sent; the clients stop once each has seen the new answer
    (or failed)."""
    answers: collections.Counter[Any] = collections.Counter()
    answered = asyncio.Semaphore(0)

    async def client(session: aiohttp.ClientSession) -> None:
        first = True
        while True:
            try:
                async with session.get(f"{base}/v1/customers/1") as response:
                    body = await response.json() if response.status == 200 else None
                    answers[(response.status, str(body))] += 1
            except aiohttp.ClientError as exc:
                answers[type(exc).__name__] += 1
                return
            if first:
                answered.release()
                first = False
            if body != OLD:  # the new configuration answered, or something went wrong
                return

    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        clients = [asyncio.create_task(client(session)) for _ in range(CLIENTS)]
        for _ in range(CLIENTS):
            await answered.acquire()
        edit()
        running.proc.send_signal(signal.SIGHUP)
        await asyncio.gather(*clients)
    return answers


def test_a_swap_under_a_thousand_clients_fails_no_call(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    with serve_in_thread(canned_soap) as backend:
        address = f"{backend}/crm"
        file = folder / "get-customer.yaml"
        file.write_text(mapping(address, "Customer.{Id: Id, Name: Name}"), encoding="utf-8")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = ["serve", "--port", str(port), "--mappings", str(folder), "--log-level", "warning"]

        def edit() -> None:
            file.write_text(mapping(address, "Customer.{name: Name}"), encoding="utf-8")

        with process([*args, "--wsdl", str(ROOT / "wsdl")], f"{base}/readyz") as running:
            answers = asyncio.run(swap_under_burst(base, running, edit))
    assert set(answers) == {(200, str(OLD)), (200, str(NEW))}
    assert answers[(200, str(NEW))] == CLIENTS  # each client ended on the new answer
