"""Run-time flips against `facade serve --workers 2` as a real process: a flip made through
`facade flags` (or the admin API) reaches both workers on their next request, survives a
restart through the state file, and a burst of concurrent requests during flips never
fails. Each request below opens a connection of its own, so both workers take some."""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import pytest
from processes import free_port, process
from servers import serve_in_thread
from test_burst import canned_soap
from typer.testing import CliRunner

from facade.cli import app as cli

pytestmark = pytest.mark.e2e

TOKEN = "workers-flags-token"
WORKERS_STARTUP = 120.0
"""Two workers each load the WSDLs; on a machine shared by many test runs that can take more
than the usual 30 s (a bound on waiting, not a timing)."""
REQUESTS = 40
BURST = 300
FLIPS = 4
"""new, canary 50 %, legacy, new: the burst ends on the new side."""
NEW_BODY = orjson.dumps({"Id": 1, "Name": "Ada Lovelace", "Balance": "1234.50"})


async def canned_new(scope: Any, receive: Any, send: Any) -> None:
    """The new customers service: the same JSON for every GET, at once."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": NEW_BODY})


@contextmanager
def peers() -> Iterator[dict[str, str]]:
    with serve_in_thread(canned_soap) as legacy, serve_in_thread(canned_new) as new:
        yield {"CRM_URL": f"{legacy}/crm", "NEW_URL": new, "FACADE_ADMIN_TOKEN": TOKEN}


@contextmanager
def facade(env: dict[str, str], *extra: str) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--workers", "2", "--log-level", "warning", *extra]
    with process(args, f"{base}/readyz", env, startup=WORKERS_STARTUP):
        yield base


def sides(base: str, count: int = REQUESTS) -> collections.Counter[str]:
    """Who served `count` requests, each on a new connection (so both workers serve)."""
    served: collections.Counter[str] = collections.Counter()
    for _ in range(count):
        response = httpx.get(f"{base}/v1/customers/1", timeout=10.0, trust_env=False)
        assert response.status_code == 200, response.text
        served[response.headers["x-facade-backend"]] += 1
    return served


def flags(base: str, *args: str) -> str:
    result = CliRunner().invoke(cli, ["flags", *args, "--url", base, "--token", TOKEN])
    assert result.exit_code == 0, result.output
    return str(result.output)


def test_a_flip_reaches_both_workers_and_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "flags.json"
    with peers() as env:
        with facade(env, "--state", str(state)) as base:
            assert sides(base) == {"legacy": REQUESTS}
            flags(base, "set", "get-customer", "new", "--reason", "move it")
            assert sides(base) == {"new": REQUESTS}
        with facade(env, "--state", str(state)) as base:
            assert sides(base) == {"new": REQUESTS}  # read back at start
            flags(base, "set", "--all", "legacy", "--reason", "incident")
            assert sides(base) == {"legacy": REQUESTS}
            shown = flags(base, "history", "get-customer").splitlines()
    assert [line.split()[1:5] for line in shown[1:]] == [
        ["admin", "get-customer", "legacy", "new"],
        ["admin", "get-customer", "new", "legacy"],
    ]
    audit = (tmp_path / "flags.audit.jsonl").read_text().splitlines()
    assert [orjson.loads(line)["reason"] for line in audit] == ["move it", "incident"]


@pytest.fixture(scope="module")
def stateless() -> Iterator[str]:
    """One `--workers 2` facade without a state file, for the tests below: each starts by
    putting the route back as declared (legacy), so neither depends on what ran before."""
    with peers() as env, facade(env) as base:
        yield base


def test_without_a_state_file_the_workers_share_a_private_one(stateless: str) -> None:
    base = stateless
    flags(base, "reset", "get-customer")
    ready = httpx.get(f"{base}/readyz", trust_env=False).json()
    assert "facade-state-" in ready["flags"]["store"]
    flags(base, "set", "get-customer", "canary", "--percent", "100")
    assert sides(base) == {"new": REQUESTS}
    flags(base, "reset", "get-customer")
    assert sides(base) == {"legacy": REQUESTS}


async def burst_during_flips(
    base: str, clients: int, flips: int = FLIPS
) -> tuple[collections.Counter[Any], int]:
    """Waves of `clients` GETs at once (one connection each) while another thread flips the
    route: flip i is made once wave i is over, so it lands while wave i + 1 is in flight.
    Wave 0 runs before any flip (legacy, as declared), the last wave after the last flip
    (new): both sides are seen without any timing."""
    statuses: collections.Counter[Any] = collections.Counter()
    progress = threading.Condition()
    waves_done = flips_done = 0

    def flipper() -> None:
        nonlocal flips_done
        bodies = [{"mode": "new"}, {"mode": "canary", "percent": 50}, {"mode": "legacy"}]
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=headers, trust_env=False, timeout=60) as http:
            for index in range(flips):
                with progress:
                    progress.wait_for(lambda index=index: waves_done > index, timeout=120)
                answer = http.put("/admin/flags/get-customer", json=bodies[index % 3])
                with progress:
                    flips_done += answer.status_code == 200
                    progress.notify_all()

    async def one(session: aiohttp.ClientSession) -> None:
        try:
            async with session.get(f"{base}/v1/customers/1") as response:
                await response.read()
                statuses[(response.status, response.headers.get("x-facade-backend"))] += 1
        except aiohttp.ClientError as exc:
            statuses[type(exc).__name__] += 1

    thread = threading.Thread(target=flipper)
    thread.start()
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for _ in range(flips + 1):
            await asyncio.gather(*(one(session) for _ in range(clients)))
            with progress:
                waves_done += 1
                progress.notify_all()
        await asyncio.to_thread(thread.join, 120)
        await asyncio.gather(*(one(session) for _ in range(clients)))  # after the last flip
    return statuses, flips_done


def test_a_burst_during_flips_never_fails(stateless: str) -> None:
    base = stateless
    flags(base, "reset", "get-customer")  # wave 0 is served as declared
    statuses, flips = asyncio.run(burst_during_flips(base, BURST))
    flags(base, "set", "get-customer", "new")
    assert sides(base, 10) == {"new": 10}  # the last flip still lands everywhere
    assert flips == FLIPS
    assert sum(statuses.values()) == BURST * (FLIPS + 2)
    assert {status for status, _ in statuses} == {200}, statuses
    assert {side for _, side in statuses} == {"legacy", "new"}, statuses
