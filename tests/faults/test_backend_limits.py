"""The concurrency limit per backend origin under a burst, against a slow real peer."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bursts import Answer, burst_client
from facades import facade_for
from soap_peer import GET_CUSTOMER, OK, Call, SoapPeer

from facade.settings import Settings


@pytest.fixture
def peer() -> Iterator[SoapPeer]:
    with SoapPeer() as running:
        yield running


def slow(call: Call) -> tuple[int, str, str]:
    time.sleep(0.2)
    return OK


def test_a_burst_of_1000_against_a_limit_of_3(peer: SoapPeer, tmp_path: Path) -> None:
    """1,000 clients at once, 3 calls allowed at a time, 50 waiting for at most 1 s of a
    30 s deadline: the backend never has more than 3 calls; every client gets a 200, or a
    503 with Retry-After (queue full, or no turn in time); no 504, no hang."""
    peer.answer = slow
    origin = peer.url.removesuffix("/crm")
    settings = Settings(backend_limits={origin: 3}, backend_queue=50, backend_queue_timeout=1.0)
    legacy = GET_CUSTOMER["legacy"] | {"timeout": 30}
    mappings = {"get-customer": GET_CUSTOMER | {"legacy": legacy}}
    with facade_for(tmp_path, mappings, {"CRM_URL": peer.url}, settings) as url:

        async def burst() -> list[Answer]:
            async with burst_client(url, timeout=60, connections=1000) as client:
                return await asyncio.gather(*(client.get("/v1/customers/1") for _ in range(1000)))

        answers = asyncio.run(burst())
        metrics = httpx.get(f"{url}/metrics").text
    statuses = Counter(r.status_code for r in answers)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] >= 3
    busy = [r for r in answers if r.status_code == 503]
    assert busy and all(r.headers["retry-after"] == "1" for r in busy)
    assert {r.json()["type"] for r in busy} == {"urn:facade:problem:backend-busy"}
    assert peer.most_at_once <= 3
    assert len(peer.calls) == statuses[200]
    assert f'facade_backend_refusals_total{{origin="{origin}",reason="busy"}} {len(busy)}.0' in (
        metrics
    )


def test_a_limit_refusal_never_opens_the_breaker(peer: SoapPeer, tmp_path: Path) -> None:
    """Refused by the facade's own limit, the backend did not fail."""
    peer.answer = slow
    origin = peer.url.removesuffix("/crm")
    settings = Settings(backend_limits={origin: 1}, backend_queue=1, backend_queue_timeout=5)
    with facade_for(
        tmp_path, {"get-customer": GET_CUSTOMER}, {"CRM_URL": peer.url}, settings
    ) as url:

        async def burst() -> list[int]:
            async with burst_client(url, timeout=60) as client:
                answers = await asyncio.gather(*(client.get("/v1/customers/1") for _ in range(30)))
                return [r.status_code for r in answers]

        statuses = asyncio.run(burst())
        assert statuses.count(503) >= 20
        assert httpx.get(f"{url}/readyz").json()["backends"][0]["breaker"] == "closed"
        assert httpx.get(f"{url}/v1/customers/1").status_code == 200
