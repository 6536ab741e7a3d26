"""Hundreds of concurrent requests from one client, for the in-process burst tests.

async with burst_client(base_url, connections=500) as client:
    answers = await asyncio.gather(*(client.get("/v1/customers/1") for _ in range(500)))

The client is aiohttp's: opening hundreds of connections at once costs it a fraction of
what it costs httpx.AsyncClient, and in a test whose server runs in the same process that
cost was most of the run. Answers are read whole into plain values.
"""

from __future__ import annotations

import asyncio
import json
import resource
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDictProxy

DEFAULT_CONNECTIONS = 100
"""At most this many connections at once unless a test asks for more (as httpx)."""


@dataclass(frozen=True)
class Answer:
    """One response, read to its end."""

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


class BurstClient:
    """Requests on one aiohttp session; paths are relative to its base URL."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
    ) -> Answer:
        async with self._session.request(method, path, headers=headers, json=json) as response:
            return Answer(response.status, response.headers, await response.read())

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("GET", path, headers=headers)

    async def post(self, path: str, *, json: Any, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("POST", path, json=json, headers=headers)

    async def delete(self, path: str) -> Answer:
        return await self.request("DELETE", path)


@asynccontextmanager
async def burst_client(
    base_url: str,
    *,
    timeout: float = 60.0,
    connections: int = DEFAULT_CONNECTIONS,
    decompress: bool = True,
) -> AsyncIterator[BurstClient]:
    """`timeout` bounds each step (connecting, each read), not the whole request, as
    httpx's does: a request queued behind others is not failed for waiting its turn.
    With `decompress` off, a compressed answer's content is the bytes sent."""
    limits = aiohttp.TCPConnector(limit=connections)
    steps = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    async with aiohttp.ClientSession(
        base_url, connector=limits, timeout=steps, auto_decompress=decompress
    ) as session:
        yield BurstClient(session)


def open_files(needed: int) -> None:
    """Raise this process's open-file limit for a burst that holds `needed` descriptors at
    once (at least 8,192 where the hard limit allows); skip the test where it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(8192, needed))
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < needed:
        pytest.skip(f"needs {needed} open files, the limit here is {hard}")


@asynccontextmanager
async def health_probe(base_url: str) -> AsyncIterator[list[int]]:
    """/healthz polled every 50 ms on a connection of its own while the block runs; yields
    the statuses seen (the list grows until the block ends)."""
    statuses: list[int] = []
    done = asyncio.Event()

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            while not done.is_set():
                async with session.get(f"{base_url}/healthz") as response:
                    statuses.append(response.status)
                await asyncio.sleep(0.05)

    prober = asyncio.create_task(probe())
    try:
        yield statuses
    finally:
        done.set()
        await prober
