"""`facade serve --workers N`: uvicorn's worker supervisor, with SIGHUP passed on.

uvicorn's supervisor answers SIGHUP by replacing its workers one by one. That would reload
the mappings too, but it throws away each worker's response cache and shadow records, and a
broken edit shows up only as a replacement worker that fails to start. Here SIGHUP goes to
every worker instead, and each reloads in place as a single process does (facade/reload.py):
same rules, same report in its /readyz.

    config = uvicorn.Config("facade.app:app_from_env", factory=True, workers=2)
    serve_workers(config)
"""

from __future__ import annotations

import os
import signal

import uvicorn
from uvicorn.supervisors import Multiprocess

READY_SECONDS = 5.0
"""How long the supervisor waits for a worker to say whether it has started."""


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


def serve_workers(config: uvicorn.Config) -> None:
    """Run `config.workers` worker processes on one listening socket until SIGINT/SIGTERM."""
    sock = config.bind_socket()
    try:
        HangupForwarding(config, sockets=[sock]).run()
    finally:
        sock.close()
