"""Real servers on loopback for tests: an ASGI app under uvicorn, in a background thread.

with serve_in_thread(app) as base_url:
    httpx.get(base_url + "/health")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

STARTUP_TIMEOUT = 10.0  # seconds for uvicorn to start listening


@contextmanager
def serve_in_thread(app: Any, *, timeout: float = STARTUP_TIMEOUT) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 on a free port; yield its base URL; stop it on exit.

    The socket is bound here, before the thread starts, so the port is known and cannot be
    taken by another process in between.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", ws="none")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + timeout
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"uvicorn did not start on {host}:{port}")
                time.sleep(0.01)
            yield f"http://{host}:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout)
    finally:
        sock.close()
