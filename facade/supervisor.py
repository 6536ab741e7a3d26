"""`facade serve --workers N`: uvicorn's worker supervisor, with SIGHUP passed on and one
listening socket per worker.

uvicorn's supervisor answers SIGHUP by replacing its workers one by one. That would reload
the mappings too, but it throws away each worker's response cache and shadow records, and a
broken edit shows up only as a replacement worker that fails to start. Here SIGHUP goes to
every worker instead, and each reloads in place as a single process does (facade/reload.py):
same rules, same report in its /readyz.

uvicorn also gives every worker the one socket it bound. The worker that wakes first then
accepts every connection waiting: a proxy or a load generator that opens its 64 keep-alive
connections at once found all 64 on one worker and the other idle. Where the system has
SO_REUSEPORT (Linux, the BSDs), each worker gets a socket of its own on the same address and
the kernel spreads new connections over them; a replacement worker takes over its
predecessor's socket, so connections queued there are served, never lost.

    config = uvicorn.Config("facade.app:app_from_env", factory=True, workers=2)
    serve_workers(config)
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys

import uvicorn
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

READY_SECONDS = 5.0
"""How long the supervisor waits for a worker to say whether it has started."""
STARTUP_FAILURE = 3
"""uvicorn's exit status for a server that could not start (here: bind its address)."""

log = logging.getLogger("uvicorn.error")


class HangupForwarding(Multiprocess):
    """Passes SIGHUP to each started worker; every other signal is uvicorn's business.

    A worker still starting is left alone: it either reads the files after they changed,
    or, if it read them before, sees at the end of its startup that they changed and
    reloads then (facade/reload.py, `Reloader.start`).
    """

    def handle_hup(self) -> None:
        for worker in self.processes:
            if worker.pid is not None and worker.is_ready(READY_SECONDS):
                os.kill(worker.pid, signal.SIGHUP)


class SocketPerWorker(HangupForwarding):
    """Worker i always listens on `own[i]`, whoever runs as worker i."""

    def __init__(self, config: uvicorn.Config, own: list[socket.socket]) -> None:
        super().__init__(config, sockets=own)
        self.own = own

    def _worker(self, index: int) -> Process:
        worker = Process(self.config, [self.own[index]])
        worker.start()
        return worker

    def init_processes(self) -> None:
        self.processes = [self._worker(index) for index in range(len(self.own))]

    def keep_subprocess_alive(self) -> None:
        """As uvicorn does, each dead or hung worker replaced, on its own socket."""
        for index, worker in enumerate(self.processes):
            if self.should_exit.is_set() or worker.is_alive(
                timeout=self.config.timeout_worker_healthcheck
            ):
                continue
            worker.kill()
            worker.join()
            if worker.exitcode == STARTUP_FAILURE:  # it would fail again the same way
                log.error("worker [%s] failed to start; stopping", worker.pid)
                self.should_exit.set()
                return
            log.info("worker [%s] died; replacing it", worker.pid)
            self.processes[index] = self._worker(index)

    def restart_all(self) -> None:
        """Each worker replaced in turn, its successor serving before it stops."""
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._worker(index)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                log.error("new worker [%s] was not ready; keeping [%s]", new.pid, old.pid)
                return
            old.terminate()
            old.join()
            self.processes[index] = new

    def handle_ttin(self) -> None:
        log.warning("the number of workers is fixed when each has its own socket")

    def handle_ttou(self) -> None:
        log.warning("the number of workers is fixed when each has its own socket")


def serve_workers(config: uvicorn.Config) -> None:
    """Run `config.workers` worker processes on `config.host:config.port` until
    SIGINT/SIGTERM: a socket each where the system allows it, else one shared."""
    if not hasattr(socket, "SO_REUSEPORT") or config.uds or config.fd is not None:
        shared = config.bind_socket()
        try:
            HangupForwarding(config, sockets=[shared]).run()
        finally:
            shared.close()
        return
    own = listening_sockets(config.host, config.port, config.workers)
    log.info("Uvicorn running on http://%s:%d", config.host, own[0].getsockname()[1])
    try:
        SocketPerWorker(config, own).run()
    finally:
        for sock in own:
            sock.close()


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets bound to one address with SO_REUSEPORT (port 0: the port the first
    one got), inheritable by the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    made: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            made.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.set_inheritable(True)
    except OSError as exc:
        for sock in made:
            sock.close()
        log.error("%s", exc)
        sys.exit(STARTUP_FAILURE)
    return made
