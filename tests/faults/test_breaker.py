"""The circuit breaker per backend origin, against a real peer on loopback: it opens after
5 consecutive failures, answers 503 at once while open, lets exactly one probe through
after the cool-down, and closes when the probe succeeds."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bursts import Answer, burst_client
from facades import facade_for
from pytest_httpserver import HTTPServer
from soap_peer import FAULT_500, GET_CUSTOMER, OK, PROXY_503, Call, SoapPeer

from facade.errors import BackendCircuitOpen
from facade.resilience.breaker import CircuitBreaker
from facade.settings import Settings

ONE_ATTEMPT = Settings(retry_attempts=1, breaker_cool_down=60)
SHORT_COOL_DOWN = Settings(retry_attempts=1, breaker_cool_down=0.3)
MAPPINGS = {"get-customer": GET_CUSTOMER}


@pytest.fixture
def peer() -> Iterator[SoapPeer]:
    with SoapPeer() as running:
        yield running


def get(base_url: str) -> httpx.Response:
    return httpx.get(f"{base_url}/v1/customers/1")


def open_breaker(base_url: str, peer: SoapPeer) -> None:
    peer.answer = lambda call: PROXY_503
    for _ in range(5):
        assert get(base_url).status_code == 502


def test_five_failures_open_it_and_it_answers_503_without_calling(
    peer: SoapPeer, tmp_path: Path
) -> None:
    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}, ONE_ATTEMPT) as url:
        open_breaker(url, peer)
        refused = get(url)
        assert refused.status_code == 503
        assert refused.json()["type"] == "urn:facade:problem:backend-circuit-open"
        assert 50 <= int(refused.headers["retry-after"]) <= 60  # the cool-down left
        assert refused.headers["x-facade-backend"] == "legacy"
        assert len(peer.calls) == 5
        metrics = httpx.get(f"{url}/metrics").text
        origin = peer.url.removesuffix("/crm")
        assert f'facade_backend_breaker_state{{origin="{origin}"}} 2.0' in metrics
        assert f'facade_backend_refusals_total{{origin="{origin}",reason="circuit-open"}} 1.0' in (
            metrics
        )
        ready = httpx.get(f"{url}/readyz").json()
        assert ready["degraded"] == ["get-customer"]
        assert ready["backends"][0]["breaker"] == "open"


def test_a_success_between_failures_starts_the_count_again(peer: SoapPeer, tmp_path: Path) -> None:
    peer.answer = lambda call: PROXY_503 if call.number != 4 else OK
    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}, ONE_ATTEMPT) as url:
        statuses = [get(url).status_code for _ in range(8)]
    assert statuses == [502, 502, 502, 200, 502, 502, 502, 502]
    assert len(peer.calls) == 8


def test_soap_faults_do_not_count(peer: SoapPeer, tmp_path: Path) -> None:
    """A SOAP fault is the backend answering: it is up."""
    peer.answer = lambda call: FAULT_500
    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}, ONE_ATTEMPT) as url:
        answers = [get(url).json()["type"] for _ in range(8)]
    assert set(answers) == {"urn:facade:problem:soap-fault"}
    assert len(peer.calls) == 8


def test_after_the_cool_down_exactly_one_probe_goes_through(peer: SoapPeer, tmp_path: Path) -> None:
    release = threading.Event()

    def held(call: Call) -> tuple[int, str, str]:
        release.wait(30)
        return OK

    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}, SHORT_COOL_DOWN) as url:
        open_breaker(url, peer)
        time.sleep(0.4)  # the cool-down passes
        peer.answer = held

        async def scenario() -> tuple[Answer, list[Answer]]:
            async with burst_client(url, timeout=30) as client:
                probe = asyncio.create_task(client.get("/v1/customers/1"))
                while peer.running == 0:
                    await asyncio.sleep(0.01)
                others = await asyncio.gather(*(client.get("/v1/customers/1") for _ in range(20)))
                release.set()
                return await probe, list(others)

        probe, others = asyncio.run(scenario())
        assert probe.status_code == 200
        assert {r.status_code for r in others} == {503}
        assert all(r.headers["retry-after"] == "1" for r in others)
        assert len(peer.calls) == 6  # five failures, one probe
        assert get(url).status_code == 200  # closed again
        assert httpx.get(f"{url}/readyz").json()["degraded"] == []


def test_a_failed_probe_opens_it_again(peer: SoapPeer, tmp_path: Path) -> None:
    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}, SHORT_COOL_DOWN) as url:
        open_breaker(url, peer)
        time.sleep(0.4)
        assert get(url).status_code == 502  # the probe, failing
        assert get(url).status_code == 503
        assert len(peer.calls) == 6


def test_a_burst_against_an_open_breaker_never_reaches_the_backend(
    peer: SoapPeer, tmp_path: Path
) -> None:
    """1,000 clients at once while the breaker is open: every one gets a 503 with
    Retry-After, and the backend sees none of them."""
    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}, ONE_ATTEMPT) as url:
        open_breaker(url, peer)

        async def burst() -> list[Answer]:
            async with burst_client(url, timeout=60, connections=1000) as client:
                return await asyncio.gather(*(client.get("/v1/customers/1") for _ in range(1000)))

        answers = asyncio.run(burst())
    assert {r.status_code for r in answers} == {503}
    assert all("retry-after" in r.headers for r in answers)
    assert len(peer.calls) == 5


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breakers_states_and_its_one_probe() -> None:
    clock = Clock()
    seen: list[str] = []
    breaker = CircuitBreaker(threshold=2, cool_down=10, on_change=seen.append, clock=clock)
    breaker.failed()
    assert breaker.admit() is False  # one failure: still closed
    breaker.failed()
    with pytest.raises(BackendCircuitOpen) as refused:
        breaker.admit()
    assert refused.value.headers() == {"Retry-After": "10"}
    clock.now += 10
    assert breaker.admit() is True  # the probe
    with pytest.raises(BackendCircuitOpen):
        breaker.admit()  # only one
    breaker.abandoned(True)  # the probe was cancelled: another may probe
    assert breaker.admit() is True
    breaker.succeeded()
    assert breaker.admit() is False
    assert seen == ["open", "half-open", "closed"]


def test_turned_off_it_never_refuses_and_reports_nothing(peer: SoapPeer, tmp_path: Path) -> None:
    peer.answer = lambda call: PROXY_503
    settings = Settings(retry_attempts=1, breaker=False)
    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}, settings) as url:
        assert {get(url).status_code for _ in range(8)} == {502}
        metrics = httpx.get(f"{url}/metrics").text
        ready = httpx.get(f"{url}/readyz").json()
    assert len(peer.calls) == 8
    assert (
        "facade_backend_breaker_state{" in metrics
        and " 2.0" not in metrics.split("facade_backend_breaker_state{", 1)[1].split("\n", 1)[0]
    )
    assert (ready["backends"][0]["breaker"], ready["degraded"]) == ("off", [])


def test_an_open_breaker_on_the_new_side_falls_back_to_legacy_without_calling_new(
    peer: SoapPeer, httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/api/customers/1").respond_with_data("down", status=503)
    route = GET_CUSTOMER | {
        "new": {"url": "${NEW_URL}/customers/{path.id}"},
        "migration": {"mode": "new"},
    }
    env = {"CRM_URL": peer.url, "NEW_URL": httpserver.url_for("/api")}
    with facade_for(tmp_path, {"get-customer": route}, env, ONE_ATTEMPT) as url:
        answers = [get(url) for _ in range(8)]
    assert {(r.status_code, r.headers["x-facade-backend"]) for r in answers} == {
        (200, "legacy-fallback")
    }
    assert len(httpserver.log) == 5  # then the new side's breaker answered for it
    assert len(peer.calls) == 8
