"""Retries toward a real peer on loopback: only where safe, within the deadline and the
origin's retry budget; a write is never sent twice."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from facades import facade_for
from soap_peer import CREATE_CUSTOMER, GET_CUSTOMER, NEW_CUSTOMER, OK, PROXY_503, Call, SoapPeer

from facade.errors import BackendError, BackendUnreachable
from facade.net import Deadline, HttpTransport
from facade.resilience.retry import RetryPolicy
from facade.resilience.transport import Resilience, ResilientTransport
from facade.settings import Settings

NO_BREAKER = Settings(breaker=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def metric(base_url: str, name: str) -> float:
    """The sum of a counter's samples on /metrics."""
    text = httpx.get(f"{base_url}/metrics").text
    lines = [line for line in text.splitlines() if line.startswith(name + "{")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


@pytest.fixture
def peer() -> Iterator[SoapPeer]:
    with SoapPeer() as running:
        yield running


def test_a_safe_route_is_retried_after_gateway_errors(peer: SoapPeer, tmp_path: Path) -> None:
    peer.answer = lambda call: PROXY_503 if call.number <= 2 else OK
    with facade_for(tmp_path, {"get-customer": GET_CUSTOMER}, {"CRM_URL": peer.url}) as url:
        response = httpx.get(f"{url}/v1/customers/1")
        assert (response.status_code, response.json()["name"]) == (200, "Ada Lovelace")
        assert len(peer.calls) == 3
        assert metric(url, "facade_backend_retries_total") == 2


def test_a_safe_route_gives_up_after_its_attempts(peer: SoapPeer, tmp_path: Path) -> None:
    peer.answer = lambda call: PROXY_503
    mappings = {"get-customer": GET_CUSTOMER}
    with facade_for(tmp_path, mappings, {"CRM_URL": peer.url}, NO_BREAKER) as url:
        response = httpx.get(f"{url}/v1/customers/1")
    assert response.status_code == 502
    assert len(peer.calls) == 3  # FACADE_RETRY_ATTEMPTS


def test_a_write_is_not_retried_once_it_was_sent(peer: SoapPeer, tmp_path: Path) -> None:
    peer.answer = lambda call: PROXY_503
    mappings = {"create-customer": CREATE_CUSTOMER}
    with facade_for(tmp_path, mappings, {"CRM_URL": peer.url}) as url:
        response = httpx.post(f"{url}/v1/customers", json=NEW_CUSTOMER)
    assert response.status_code == 502
    assert [call.action for call in peer.calls] == ["CreateCustomer"]


@pytest.fixture
def resetting_peer() -> Iterator[tuple[str, list[bytes]]]:
    """A raw TCP peer that reads the start of each request, then resets the connection:
    the request was sent, the answer never comes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                received.append(conn.recv(65536))
                # SO_LINGER 0: close with a reset instead of a clean FIN
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/crm", received
    finally:
        stop.set()
        thread.join()
        listener.close()


def test_a_write_reset_mid_request_is_a_502_sent_once(
    resetting_peer: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    address, received = resetting_peer
    mappings = {"create-customer": CREATE_CUSTOMER}
    with facade_for(tmp_path, mappings, {"CRM_URL": address}) as url:
        response = httpx.post(f"{url}/v1/customers", json=NEW_CUSTOMER)
        assert metric(url, "facade_backend_retries_total") == 0
    assert response.status_code == 502
    assert response.json()["type"] == "urn:facade:problem:backend-error"
    sent = [data for data in received if data]  # the startup check connects, sends nothing
    assert len(sent) == 1 and sent[0].startswith(b"POST /crm")


def test_a_safe_read_reset_mid_request_is_retried(
    resetting_peer: tuple[str, list[bytes]], tmp_path: Path
) -> None:
    address, received = resetting_peer
    mappings = {"get-customer": GET_CUSTOMER}
    with facade_for(tmp_path, mappings, {"CRM_URL": address}, NO_BREAKER) as url:
        assert httpx.get(f"{url}/v1/customers/1").status_code == 502
    assert len([data for data in received if data]) == 3


def test_a_write_is_retried_when_nothing_was_sent(tmp_path: Path) -> None:
    """No connection could be made: the legacy system cannot have seen the write."""
    address = f"http://127.0.0.1:{closed_port()}/crm"
    mappings = {"create-customer": CREATE_CUSTOMER}
    with facade_for(tmp_path, mappings, {"CRM_URL": address}) as url:
        response = httpx.post(f"{url}/v1/customers", json=NEW_CUSTOMER)
        assert response.json()["type"] == "urn:facade:problem:backend-unreachable"
        assert metric(url, "facade_backend_retries_total") == 2


def test_no_attempt_starts_that_cannot_end_before_the_deadline(
    peer: SoapPeer, tmp_path: Path
) -> None:
    """The first attempt takes 0.4 s of a 0.6 s deadline: another would not fit."""

    def slow_503(call: Call) -> tuple[int, str, str]:
        time.sleep(0.4)
        return PROXY_503

    peer.answer = slow_503
    mappings = {
        "get-customer": GET_CUSTOMER | {"legacy": GET_CUSTOMER["legacy"] | {"timeout": 0.6}}
    }
    with facade_for(tmp_path, mappings, {"CRM_URL": peer.url}) as url:
        assert httpx.get(f"{url}/v1/customers/1").status_code == 502
    assert len(peer.calls) == 1


def test_retries_stay_within_the_origins_budget() -> None:
    """50 calls to a refused port with a budget of 10 % plus 2: at most 7 retries, where
    unbudgeted they would have been 100."""
    retried: list[str] = []

    class Count:
        def retried(self, origin: str) -> None:
            retried.append(origin)

        def refused(self, origin: str, reason: str) -> None:
            return None

        def breaker_changed(self, origin: str, state: str) -> None:
            return None

    async def run() -> None:
        settings = Resilience(budget_ratio=0.1, budget_minimum=2, breaker=False)
        network = ResilientTransport(HttpTransport(), settings, Count())
        transport = network.for_route(safe=True)
        url = f"http://127.0.0.1:{closed_port()}/crm"
        try:
            for _ in range(50):
                with pytest.raises(BackendUnreachable):
                    await transport.request("POST", url, b"<x/>", {}, Deadline.after(5))
        finally:
            await network.aclose()

    asyncio.run(run())
    assert 2 <= len(retried) <= 2 + 0.1 * 50


def test_backoff_is_full_jitter_below_a_doubling_ceiling() -> None:
    policy = RetryPolicy(base=0.05, cap=0.3)
    rng = random.Random(7)  # noqa: S311 - jitter, not secrets
    for retry, ceiling in [(1, 0.05), (2, 0.1), (3, 0.2), (4, 0.3), (9, 0.3)]:
        waits = [policy.backoff(retry, rng) for _ in range(200)]
        assert all(0 <= wait <= ceiling for wait in waits)
        assert max(waits) - min(waits) > ceiling / 2  # spread out, not one value


def test_only_connection_failures_before_sending_make_a_write_retryable() -> None:
    from facade.resilience.retry import retryable

    assert retryable(BackendUnreachable(), safe=False)
    assert not retryable(BackendError("reset"), safe=False)
    assert retryable(BackendError("reset"), safe=True)
