"""`facade serve --workers 2`: /metrics and /admin/status add up every worker's requests,
whichever worker answers."""

from __future__ import annotations

import httpx
import pytest
from processes import free_port, processes
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.e2e

REQUESTS = 40
TOKEN = "workers-admin-token"
WORKERS_STARTUP = 120.0
"""Two workers each load the WSDLs while the mock starts beside them; on a shared machine
that can take more than the usual 30 s (a bound on waiting, not a timing)."""


def served(scrape: str, route: str) -> float:
    """The facade_requests count of `route` in one scrape, over every side and status."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(scrape)
        for sample in family.samples
        if sample.name == "facade_requests_total" and sample.labels.get("route") == route
    )


def test_metrics_add_up_across_workers() -> None:
    mock_port, facade_port = free_port(), free_port()
    mock_url = f"http://127.0.0.1:{mock_port}/crm"
    env = {"CRM_URL": mock_url, "FACADE_ADMIN_TOKEN": TOKEN}
    base = f"http://127.0.0.1:{facade_port}"
    mock = ["mock", "wsdl/crm.wsdl", "--handlers", "demo/crm_handlers.py"]
    serve = ["serve", "--port", str(facade_port), "--workers", "2"]
    with (
        processes(
            ([*mock, "--port", str(mock_port)], f"{mock_url}?wsdl", env),
            (serve, f"{base}/readyz", env),
            startup=WORKERS_STARTUP,
        ),
    ):
        for _ in range(REQUESTS):  # a new connection each time, so both workers take some
            assert httpx.get(f"{base}/v1/customers/1", timeout=10.0).status_code == 200
        scrapes = [httpx.get(f"{base}/metrics", timeout=10.0).text for _ in range(8)]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        statuses = [
            httpx.get(f"{base}/admin/status", headers=auth, timeout=10.0).json() for _ in range(8)
        ]
    assert [served(scrape, "get-customer") for scrape in scrapes] == [REQUESTS] * len(scrapes)
    for status in statuses:
        customer = next(route for route in status["routes"] if route["name"] == "get-customer")
        assert (status["counters"], customer["requests"]["legacy"]) == ("all workers", REQUESTS)
