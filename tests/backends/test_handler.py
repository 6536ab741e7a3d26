"""Mode new with in-process handlers (sync and async), the facade under uvicorn."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import new_handlers
import pytest
from facades import facade_for, legacy

PROBLEM = "application/problem+json"


def handled(path: str, handler: str, **new: Any) -> dict[str, Any]:
    return {
        "route": {"method": "GET", "path": path},
        "legacy": legacy(
            "GetCustomer",
            {"CustomerId": "path.id"},
            response="Customer.{id: Id, name: Name, balance: Balance}",
        ),
        "new": {"handler": handler, **new},
        "migration": {"mode": "new", "fallback": False},  # the new side alone
    }


MAPPINGS = {
    "sync-customer": handled("/v1/sync/{id}", "new_handlers:sync_customer"),
    "async-customer": handled("/v1/async/{id}", "new_handlers:async_customer", timeout=0.3),
    "shaped-customer": handled(
        "/v1/shaped/{id}", "new_handlers:async_customer", response="{id: id, name: name}"
    ),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with facade_for(tmp_path_factory.mktemp("mappings"), MAPPINGS, {}) as url:
        with httpx.Client(base_url=url, trust_env=False, timeout=10) as http:
            yield http


def test_a_sync_handler_answers_from_a_worker_thread(client: httpx.Client) -> None:
    response = client.get("/v1/sync/5")
    assert response.status_code == 200
    assert response.headers["x-facade-backend"] == "new"
    assert response.json() == {"id": 5, "name": "Sync", "balance": "1.00"}
    assert new_handlers.seen_threads[-1].startswith("facade-handler")


def test_a_blocking_sync_handler_does_not_block_the_event_loop(client: httpx.Client) -> None:
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(client.get, "/v1/sync/6", params={"slow": "1"})
        time.sleep(0.1)  # the slow call is in its handler now
        started = time.monotonic()
        assert client.get("/v1/async/7").status_code == 200
        assert time.monotonic() - started < new_handlers.SLOW_SECONDS / 2
        assert slow.result().status_code == 200


def test_an_async_handler_reads_the_request_context(client: httpx.Client) -> None:
    response = client.get("/v1/async/8", headers={"X-User-Id": "u-8"})
    assert response.status_code == 200
    assert response.headers["x-facade-backend"] == "new"
    assert response.json() == {"id": 8, "name": "u-8", "balance": "2.00"}


def test_the_response_expression_shapes_a_handlers_answer(client: httpx.Client) -> None:
    assert client.get("/v1/shaped/3").json() == {"id": 3, "name": "Async"}


def test_a_facade_error_from_a_handler_is_its_problem(client: httpx.Client) -> None:
    response = client.get("/v1/async/404")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-facade-backend"] == "new"
    assert response.json()["detail"] == "No customer 404"


@pytest.mark.parametrize(
    ("number", "status", "slug"),
    [("500", 502, "backend-error"), ("777", 502, "backend-error"), ("999", 504, "backend-timeout")],
    ids=["raises", "not-json", "too-slow"],
)
def test_handler_failures_are_backend_errors_with_side_new(
    client: httpx.Client, number: str, status: int, slug: str
) -> None:
    response = client.get(f"/v1/async/{number}")
    assert response.status_code == status
    assert response.headers["x-facade-backend"] == "new"
    assert response.json()["type"] == f"urn:facade:problem:{slug}"
    assert "hunter2" not in response.text and "Traceback" not in response.text
