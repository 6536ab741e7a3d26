"""Idempotency-Key on write routes, through the facade against a counting legacy peer:
the write reaches legacy once, repeats get the first answer."""

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
from soap_peer import (
    CREATE_CUSTOMER,
    CRM,
    CUSTOMER,
    NEW_CUSTOMER,
    NOT_FOUND_FAULT,
    OK,
    PROXY_503,
    XML,
    Call,
    SoapPeer,
)
from wsdls import envelope

MAPPINGS = {"create-customer": CREATE_CUSTOMER}


@pytest.fixture
def peer() -> Iterator[SoapPeer]:
    with SoapPeer() as running:
        yield running


@pytest.fixture
def base_url(peer: SoapPeer, tmp_path: Path) -> Iterator[str]:
    with facade_for(tmp_path, MAPPINGS, {"CRM_URL": peer.url}) as url:
        yield url


def create(
    base_url: str, key: str | None, body: object = NEW_CUSTOMER, **headers: str
) -> httpx.Response:
    sent = {"idempotency-key": key} if key is not None else {}
    return httpx.post(f"{base_url}/v1/customers", json=body, headers=sent | headers)


def test_a_repeat_gets_the_first_answer_and_legacy_sees_one_write(
    base_url: str, peer: SoapPeer
) -> None:
    first = create(base_url, "k-1")
    again = create(base_url, "k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again.headers["x-facade-backend"] == first.headers["x-facade-backend"] == "legacy"
    assert len(peer.calls) == 1


def test_without_a_key_or_with_another_each_request_is_a_write(
    base_url: str, peer: SoapPeer
) -> None:
    create(base_url, None)
    create(base_url, None)
    create(base_url, "k-a")
    create(base_url, "k-b")
    assert len(peer.calls) == 4


def test_concurrent_duplicates_make_one_write(base_url: str, peer: SoapPeer) -> None:
    """50 copies of one request at once while legacy takes its time: one write; the others
    wait for its answer and get it."""
    release = threading.Event()

    def slow(call: Call) -> tuple[int, str, str]:
        release.wait(30)
        return OK

    peer.answer = slow

    async def burst() -> list[Answer]:
        async with burst_client(base_url, timeout=30) as client:
            sends = [
                client.post("/v1/customers", json=NEW_CUSTOMER, headers={"idempotency-key": "k-c"})
                for _ in range(50)
            ]
            tasks = [asyncio.ensure_future(send) for send in sends]
            while not peer.calls:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the duplicates arrive while the first is in flight
            release.set()
            return await asyncio.gather(*tasks)

    answers = asyncio.run(burst())
    assert {r.status_code for r in answers} == {201}
    assert len({r.content for r in answers}) == 1
    assert len(peer.calls) == 1


def test_the_same_key_for_another_body_is_422(base_url: str, peer: SoapPeer) -> None:
    create(base_url, "k-d")
    other = create(base_url, "k-d", NEW_CUSTOMER | {"Name": "Grace"})
    assert other.status_code == 422
    assert other.json()["type"] == "urn:facade:problem:idempotency-key-reused"
    assert len(peer.calls) == 1


def test_a_failure_is_not_kept_so_a_retry_tries_again(base_url: str, peer: SoapPeer) -> None:
    peer.answer = lambda call: PROXY_503 if call.number == 1 else OK
    assert create(base_url, "k-e").status_code == 502
    assert create(base_url, "k-e").status_code == 201
    assert create(base_url, "k-e").status_code == 201
    assert len(peer.calls) == 2


def test_a_client_error_is_kept(base_url: str, peer: SoapPeer) -> None:
    """Legacy refused the write with a mapped fault (404): the repeat gets the same answer."""
    peer.answer = lambda call: NOT_FOUND_FAULT
    first = create(base_url, "k-f")
    again = create(base_url, "k-f")
    assert (first.status_code, again.status_code) == (404, 404)
    assert again.json()["fault"] == first.json()["fault"]
    assert len(peer.calls) == 1


def test_keys_belong_to_their_caller(base_url: str, peer: SoapPeer) -> None:
    create(base_url, "k-g", authorization="Bearer alice")
    create(base_url, "k-g", authorization="Bearer bob")
    create(base_url, "k-g", authorization="Bearer alice")
    assert len(peer.calls) == 2


@pytest.mark.parametrize("key", [b"", b"a" * 256, b"with space", "é".encode()])
def test_a_malformed_key_is_400_naming_the_header(
    base_url: str, peer: SoapPeer, key: bytes
) -> None:
    response = httpx.post(
        f"{base_url}/v1/customers",
        json=NEW_CUSTOMER,
        headers={"idempotency-key": key},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "urn:facade:problem:invalid-idempotency-key"
    assert body["errors"][0]["field"] == 'headers."idempotency-key"'
    assert not peer.calls


def test_a_route_may_opt_out(peer: SoapPeer, tmp_path: Path) -> None:
    mappings = {"create-customer": CREATE_CUSTOMER | {"resilience": {"idempotency": False}}}
    with facade_for(tmp_path, mappings, {"CRM_URL": peer.url}) as url:
        create(url, "k-h")
        create(url, "k-h")
    assert len(peer.calls) == 2


def test_keys_expire(peer: SoapPeer, tmp_path: Path) -> None:
    from facade.settings import Settings

    with facade_for(
        tmp_path, MAPPINGS, {"CRM_URL": peer.url}, Settings(idempotency_ttl=0.3)
    ) as url:
        create(url, "k-i")
        create(url, "k-i")
        time.sleep(0.4)
        create(url, "k-i")
    assert len(peer.calls) == 2


def test_a_burst_of_500_with_50_keys_makes_50_writes(peer: SoapPeer, tmp_path: Path) -> None:
    """500 requests at once, ten copies of each of 50 keys: legacy gets 50 writes, and the
    copies of a key all get the answer of that key's one write (each write's id differs).
    The route's deadline is long: a 504 on a loaded machine would not be kept, and its
    repeat would write again, as it should."""

    def numbered(call: Call) -> tuple[int, str, str]:
        customer = CUSTOMER.replace("<c:Id>1</c:Id>", f"<c:Id>{call.number}</c:Id>")
        inner = f'<c:CreateCustomerResponse xmlns:c="{CRM}">{customer}</c:CreateCustomerResponse>'
        return 200, XML, envelope(inner)

    peer.answer = numbered
    legacy = CREATE_CUSTOMER["legacy"] | {"timeout": 120}
    mappings = {"create-customer": CREATE_CUSTOMER | {"legacy": legacy}}

    async def burst(base_url: str) -> list[tuple[str, Answer]]:
        async with burst_client(base_url, timeout=150, connections=500) as client:

            async def send(key: str) -> tuple[str, Answer]:
                headers = {"idempotency-key": key}
                return key, await client.post("/v1/customers", json=NEW_CUSTOMER, headers=headers)

            return await asyncio.gather(*(send(f"k-{n % 50}") for n in range(500)))

    with facade_for(tmp_path, mappings, {"CRM_URL": peer.url}) as url:
        answers = asyncio.run(burst(url))
    assert {r.status_code for _, r in answers} == {201}
    ids_by_key: dict[str, set[int]] = {}
    for key, response in answers:
        ids_by_key.setdefault(key, set()).add(response.json()["id"])
    assert all(len(ids) == 1 for ids in ids_by_key.values())
    assert len({next(iter(ids)) for ids in ids_by_key.values()}) == 50
    assert len(peer.calls) == 50
