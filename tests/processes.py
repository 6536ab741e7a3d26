"""Real processes for end-to-end tests: the mock CRM and the facade, each under uvicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Running:
    """A started process and the file its stdout and stderr go to."""

    proc: subprocess.Popen[bytes]
    log: IO[bytes]

    def output(self) -> str:
        """Everything it wrote so far."""
        fd = self.log.fileno()  # pread: the offset the process writes at stays put
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")


@contextmanager
def process(
    args: list[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    startup: float = STARTUP_SECONDS,
) -> Iterator[Running]:
    """Run `python -m facade ARGS` until `ready_url` answers 200 (within `startup` seconds);
    stop it on exit."""
    with processes((args, ready_url, env), startup=startup) as [running]:
        yield running


Spec = tuple[list[str], str, dict[str, str] | None]
"""The ARGS of `python -m facade ARGS`, the URL that answers 200 once it is ready, and the
environment it adds."""


@contextmanager
def processes(*specs: Spec, startup: float = STARTUP_SECONDS) -> Iterator[list[Running]]:
    """Start every process at once, then wait until each is ready: their start-ups (mostly
    imports and WSDL loading) overlap. Stopped in the reverse order on exit."""
    with ExitStack() as stack:
        started = [stack.enter_context(_started(args, env)) for args, _, env in specs]
        for (_, ready_url, _), running in zip(specs, started, strict=True):
            _wait(ready_url, running.proc, running.log, startup)
        yield started


@contextmanager
def _started(args: list[str], env: dict[str, str] | None) -> Iterator[Running]:
    # stderr goes to a file: a pipe nobody reads would block a chatty server
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "facade", *args],
            cwd=ROOT,
            # one worker unless a test asks for more: tests count what one process saw
            env={**os.environ, "FACADE_WORKERS": "1", **(env or {})},
            stdout=log,
            stderr=log,
        )
        try:
            yield Running(proc, log)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def _wait(url: str, proc: subprocess.Popen[bytes], log: IO[bytes], startup: float) -> None:
    deadline = time.monotonic() + startup
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            error = log.read().decode(errors="replace")
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}: {error[-2000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {startup:g} s")


@contextmanager
def mock_and_facade(
    wsdl_file: str = "wsdl/crm.wsdl",
    handlers: str = "demo/crm_handlers.py",
    mappings: str = "mappings",
    wsdl_dir: str = "wsdl",
    address_var: str = "CRM_URL",
    path: str = "/crm",
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """The mock legacy system and the facade in front of it; yields the facade's base URL."""
    mock_port, facade_port = free_port(), free_port()
    mock_url = f"http://127.0.0.1:{mock_port}{path}"
    env = {**(extra_env or {}), address_var: mock_url}
    mock_args = ["mock", wsdl_file, "--handlers", handlers, "--port", str(mock_port)]
    serve_args = ["serve", "--port", str(facade_port), "--mappings", mappings, "--wsdl", wsdl_dir]
    base = f"http://127.0.0.1:{facade_port}"
    with processes((mock_args, f"{mock_url}?wsdl", env), (serve_args, f"{base}/readyz", env)):
        yield base
