"""The README's path from a WSDL, command by command: scaffold -> check -> mock -> serve ->
curl, as real processes on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from processes import ROOT, free_port, processes

pytestmark = pytest.mark.e2e


def facade(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "facade", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_scaffold_mock_serve_curl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRM_URL", raising=False)  # the scaffolded default must do
    mock_port, facade_port = free_port(), free_port()
    out = tmp_path / "crm"
    mock_url = f"http://127.0.0.1:{mock_port}/crm"

    scaffolded = facade("scaffold", "wsdl/crm.wsdl", "--out", str(out), "--address", mock_url)
    assert scaffolded.returncode == 0, scaffolded.stderr
    checked = facade("check", "--mappings", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "7 routes OK" in checked.stdout

    base = f"http://127.0.0.1:{facade_port}"
    serve = ["serve", "--mappings", str(out), "--port", str(facade_port)]
    with (
        processes(
            (["mock", "wsdl/crm.wsdl", "--port", str(mock_port)], f"{mock_url}?wsdl", None),
            (serve, f"{base}/readyz", None),
        ),
    ):
        customer = httpx.get(f"{base}/customers/1", timeout=10.0)
        assert customer.status_code == 200, customer.text
        assert customer.headers["x-facade-backend"] == "legacy"
        assert {"Id", "Name", "Address"} <= set(customer.json())  # unwrapped from the reply
        orders = httpx.get(f"{base}/orders", params={"customerId": 1}, timeout=10.0)
        assert orders.status_code == 200, orders.text
        assert httpx.get(f"{base}/", timeout=10.0).headers["location"] == "/docs"


def test_scaffolding_into_the_demo_mappings_is_refused_before_writing() -> None:
    result = facade("scaffold", "wsdl/crm.wsdl")
    assert result.returncode == 1
    assert "already names route 'get-customer'" in result.stderr
    assert not (ROOT / "mappings" / "crm").exists()
