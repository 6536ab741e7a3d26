"""Graceful shutdown of `facade serve`: on SIGTERM, a request in flight finishes within
FACADE_SHUTDOWN_SECONDS; past it, the process stops anyway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from processes import ROOT, STARTUP_SECONDS, _wait, free_port
from soap_peer import GET_CUSTOMER, OK, Call, SoapPeer

pytestmark = pytest.mark.e2e


@contextmanager
def serving(folder: Path, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`facade serve` for the mappings in `folder`; stopped at the end if still running."""
    port = free_port()
    args = ["serve", "--port", str(port), "--mappings", str(folder), "--wsdl", str(ROOT / "wsdl")]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "facade", *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=log,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(f"{base}/readyz", proc, log, STARTUP_SECONDS)
            yield proc, base
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def in_background(url: str) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []

    def call() -> None:
        try:
            result.append(httpx.get(url, timeout=60).status_code)
        except httpx.HTTPError as exc:
            result.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    return thread, result


def write_mappings(folder: Path) -> Path:
    folder.mkdir()
    text = yaml.safe_dump(GET_CUSTOMER)
    (folder / "get-customer.yaml").write_text(text, encoding="utf-8")
    return folder


def test_a_request_in_flight_finishes_after_sigterm(tmp_path: Path) -> None:
    arrived, release = threading.Event(), threading.Event()

    def held(call: Call) -> tuple[int, str, str]:
        arrived.set()
        release.wait(30)
        return OK

    with SoapPeer() as peer:
        peer.answer = held
        env = {"CRM_URL": peer.url, "FACADE_SHUTDOWN_SECONDS": "30"}
        with serving(write_mappings(tmp_path / "m"), env) as (proc, base):
            thread, result = in_background(f"{base}/v1/customers/1")
            assert arrived.wait(30)
            proc.send_signal(signal.SIGTERM)
            threading.Timer(0.5, release.set).start()  # the backend answers after the signal
            thread.join(60)
            # uvicorn shuts down cleanly, then re-raises the signal it caught
            assert proc.wait(30) in (0, -signal.SIGTERM)
    assert result == [200]


def test_past_the_grace_the_process_stops_anyway(tmp_path: Path) -> None:
    arrived, release = threading.Event(), threading.Event()

    def stuck(call: Call) -> tuple[int, str, str]:
        arrived.set()
        release.wait(60)
        return OK

    with SoapPeer() as peer:
        peer.answer = stuck
        env = {"CRM_URL": peer.url, "FACADE_SHUTDOWN_SECONDS": "1"}
        try:
            with serving(write_mappings(tmp_path / "m"), env) as (proc, base):
                thread, result = in_background(f"{base}/v1/customers/1")
                assert arrived.wait(30)
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)  # while the backend still holds the call
                assert not release.is_set()
                thread.join(60)
        finally:
            release.set()
    assert result != [200]
