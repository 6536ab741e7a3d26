"""`facade serve --workers N` listens on one socket per worker (facade/supervisor.py): the
kernel spreads connections over the workers, and a worker's replacement serves what queued
on its socket. The supervisor runs as a real process with two uvicorn workers on loopback,
serving tests/pid_app.py, which answers the id of the worker process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import free_port

from facade.supervisor import listening_sockets

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CONNECTIONS = 64
SUPERVISOR = """
import uvicorn
import sys
from facade.supervisor import serve_workers
config = uvicorn.Config("pid_app:app", port=int(sys.argv[1]), workers=2, log_level="warning")
serve_workers(config)
"""

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT"), reason="a socket per worker needs SO_REUSEPORT"
)


@pytest.fixture
def supervisor() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        args = [sys.executable, "-c", SUPERVISOR, str(port)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(TESTS)))}
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for_workers(url, proc)
            yield url
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_for_workers(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Until both workers answer (each listens once its app has started)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the supervisor exited"
        if len(asyncio.run(_pids(url))) == 2:
            return
        time.sleep(0.2)
    raise RuntimeError("two workers did not answer within 30 s")


async def _pids(url: str) -> set[int]:
    """The worker that answers each of CONNECTIONS connections opened at once."""
    host, port = url.removeprefix("http://").split(":")

    async def one() -> int | None:
        try:
            reader, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            return None
        try:
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 30)
        except (OSError, TimeoutError):
            return None
        finally:
            writer.close()
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(body) if head.startswith(b"HTTP/1.1 200") else None

    answers = await asyncio.gather(*(one() for _ in range(CONNECTIONS)))
    return {pid for pid in answers if pid is not None}


def test_sockets_share_one_address_and_each_accepts() -> None:
    own = listening_sockets("127.0.0.1", 0, 3)
    try:
        assert len({sock.getsockname() for sock in own}) == 1
        for sock in own:
            sock.listen()
        port = own[0].getsockname()[1]
        for _ in range(30):  # the kernel hashes each new connection to one of them
            socket.create_connection(("127.0.0.1", port)).close()
        took = [_accepted(sock) for sock in own]
        assert sum(took) == 30 and all(took)
    finally:
        for sock in own:
            sock.close()


def _accepted(sock: socket.socket) -> int:
    sock.setblocking(False)
    count = 0
    while True:
        try:
            sock.accept()[0].close()
        except BlockingIOError:
            return count
        count += 1


def test_an_address_taken_without_reuse_is_a_startup_failure() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(SystemExit) as exited:
            listening_sockets("127.0.0.1", taken.getsockname()[1], 2)
    assert exited.value.code == 3


def test_connections_opened_at_once_reach_both_workers(supervisor: str) -> None:
    for _ in range(3):  # a shared socket gave all 64 to one worker in one run of three
        assert len(asyncio.run(_pids(supervisor))) == 2


def test_a_killed_workers_socket_is_served_by_its_replacement(supervisor: str) -> None:
    victim = next(iter(asyncio.run(_pids(supervisor))))
    os.kill(victim, signal.SIGKILL)
    # connections the kernel puts on the dead worker's socket wait for its replacement
    pids = asyncio.run(_pids(supervisor))
    assert victim not in pids and len(pids) == 2
