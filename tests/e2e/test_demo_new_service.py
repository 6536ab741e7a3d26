"""The demo's new customers service (demo/new_customers.py) as a real process: its routes,
the one deliberate difference from legacy, and a demo route walked to shadow mode with the
difference seen through `facade status`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from processes import ROOT, free_port, mock_and_facade
from typer.testing import CliRunner

from facade.cli import app as cli

pytestmark = pytest.mark.e2e

TOKEN = "demo-admin-token"


@pytest.fixture(scope="module")
def new_base() -> Iterator[str]:
    """`python -m demo.new_customers` on a free port, as scripts/demo starts it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "demo.new_customers", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "the new customers service exited"
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the new customers service did not start"
            time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def legacy() -> Iterator[httpx.Client]:
    """The demo facade in mode legacy (the shipped mappings), in front of the mock CRM."""
    with mock_and_facade() as base, httpx.Client(base_url=base, timeout=10.0) as http:
        yield http


def test_orders_answer_exactly_what_legacy_answers(legacy: httpx.Client, new_base: str) -> None:
    for order in (1001, 1002, 1003, 1004):
        new = httpx.get(f"{new_base}/orders/{order}")
        assert new.status_code == 200
        assert new.json() == legacy.get(f"/v1/orders/{order}").json()


def test_customers_differ_from_legacy_only_in_the_balance_format(
    legacy: httpx.Client, new_base: str
) -> None:
    differing = []
    for customer in (1, 2, 3, 4, 5):
        new = httpx.get(f"{new_base}/customers/{customer}").json()
        old = legacy.get(f"/v1/customers/{customer}").json()
        assert {**new, "Balance": None} == {**old, "Balance": None}
        if new["Balance"] != old["Balance"]:
            differing.append((old["Balance"], new["Balance"]))
    assert differing == [("1234.50", "1234.5"), ("0.00", "0")]


def test_unknown_ids_are_404(new_base: str) -> None:
    for path in ("/customers/42", "/orders/9", "/customers/abc"):
        assert httpx.get(f"{new_base}{path}").status_code == 404


def test_a_demo_route_in_shadow_mode_shows_the_difference_in_facade_status(
    new_base: str, tmp_path: Path
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    route = mappings / "customers" / "get-customer.yaml"
    route.write_text(route.read_text().replace("mode: legacy", "mode: shadow"))
    env = {"NEW_URL": new_base, "FACADE_ADMIN_TOKEN": TOKEN}
    with mock_and_facade(mappings=str(mappings), extra_env=env) as base:
        answer = httpx.get(f"{base}/v1/customers/1", headers={"x-request-id": "walk-1"})
        assert (answer.headers["x-facade-backend"], answer.json()["Balance"]) == (
            "legacy",
            "1234.50",
        )
        expected = '  Balance: "1234.50" -> "1234.5"  (walk-1)'
        deadline = time.monotonic() + 5
        while True:
            result = CliRunner().invoke(cli, ["status", "--url", base, "--token", TOKEN])
            assert result.exit_code == 0, result.output
            if expected in result.output.splitlines():
                break
            assert time.monotonic() < deadline, result.output
            time.sleep(0.1)
    row = next(line for line in result.output.splitlines() if line.startswith("get-customer"))
    # mode, percent, legacy, new, fallback, fallbacks, compared, match, mismatch, errors, drops
    assert row.split()[1:] == [
        *("shadow", "-", "shadow"),
        *("1", "0", "0", "0", "1", "0", "1", "0", "0", "0"),
        "-",
    ]


def test_the_readme_walk_of_get_customer_with_facade_flags(new_base: str) -> None:
    """The README's walk, with the shipped mappings and no restart: shadow, canary, new,
    then every route back to legacy, each step by `facade flags`."""

    def flags(*args: str) -> str:
        result = CliRunner().invoke(cli, ["flags", *args, "--url", base, "--token", TOKEN])
        assert result.exit_code == 0, result.output
        return str(result.output)

    def served_by() -> str:
        answer = httpx.get(f"{base}/v1/customers/1", timeout=10.0)
        assert answer.status_code == 200
        return str(answer.headers["x-facade-backend"])

    env = {"NEW_URL": new_base, "FACADE_ADMIN_TOKEN": TOKEN}
    with mock_and_facade(extra_env=env) as base:
        flags("set", "get-customer", "shadow", "--reason", "compare with the rewrite")
        assert served_by() == "legacy"
        deadline = time.monotonic() + 10
        while "get-customer: recent differences" not in (
            status := CliRunner().invoke(cli, ["status", "--url", base, "--token", TOKEN]).output
        ):
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        assert "get-customer: flipped by admin: compare with the rewrite" in status
        flags("set", "get-customer", "canary", "--percent", "100")
        assert served_by() == "new"
        flags("set", "get-customer", "new")
        assert served_by() == "new"
        assert flags("set", "--all", "legacy", "--reason", "incident").startswith(
            "every route on legacy (1 moved: get-customer)"
        )
        assert served_by() == "legacy"
        history = flags("history", "get-customer").splitlines()
        assert [line.split()[4] for line in history[1:]] == [
            "shadow",
            "canary:100%",
            "new",
            "legacy",
        ]
