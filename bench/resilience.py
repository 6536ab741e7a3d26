"""The facade's backend protections under a burst, as a real process on loopback.

    PYTHONPATH=. .venv/bin/python bench/resilience.py [--clients 1000]

0. Baseline: an immediate backend, no limit: N clients at once (what HTTP itself costs).
1. A slow backend (100 ms per call) behind a limit of 3 calls, a queue of 50 and a queue
   timeout of 1 s: N clients at once. Statuses, latency by status, the backend's most calls
   at once, and the time to the last answer.
2. A failing backend (503 pages): its breaker is opened, then N clients at once. Statuses,
   latency, and the backend calls the burst made (0 expected).

Compare rows within one run: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import httpx
from _harness import facade, get_customer_reply, mapping_with_address, ms, percentile, raise_nofile


class Backend:
    """A threaded HTTP backend on loopback: `answer()` gives (status, type, body) per call."""

    def __init__(self, answer: Callable[[], tuple[int, str, bytes]]) -> None:
        self.calls = 0
        self.running = 0
        self.most = 0
        lock = threading.Lock()
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", 0)))
                with lock:
                    backend.calls += 1
                    backend.running += 1
                    backend.most = max(backend.most, backend.running)
                status, kind, body = answer()
                with lock:
                    backend.running -= 1
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_port}"


@contextmanager
def running(backend: Backend) -> Iterator[Backend]:
    threading.Thread(target=backend.server.serve_forever, daemon=True).start()
    try:
        yield backend
    finally:
        backend.server.shutdown()


async def burst(url: str, clients: int) -> tuple[list[tuple[int, float]], float]:
    """`clients` GETs at once, one connection each (aiohttp: httpx itself would be the
    bottleneck at 1,000 connections, see net_clients.py)."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:

        async def one() -> tuple[int, float]:
            started = time.perf_counter()
            async with client.get(url) as response:
                await response.read()
                return response.status, time.perf_counter() - started

        started = time.perf_counter()
        answers = await asyncio.gather(*(one() for _ in range(clients)))
        return list(answers), time.perf_counter() - started


def report(title: str, answers: list[tuple[int, float]], wall: float) -> None:
    print(f"\n{title}: last answer after {wall:.2f} s")
    for status, count in sorted(Counter(s for s, _ in answers).items()):
        times = [t for s, t in answers if s == status]
        p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
        print(
            f"  {status}: {count:5d}   p50 {ms(p50)} ms   p99 {ms(p99)} ms   max {ms(max(times))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    clients = parser.parse_args().clients
    raise_nofile()
    reply = get_customer_reply()

    def slow() -> tuple[int, str, bytes]:
        time.sleep(0.1)
        return 200, "text/xml; charset=utf-8", reply

    def failing() -> tuple[int, str, bytes]:
        return 503, "text/html", b"<html>down</html>"

    def fast() -> tuple[int, str, bytes]:
        return 200, "text/xml; charset=utf-8", reply

    with running(Backend(fast)) as backend:
        text = mapping_with_address("customers/get-customer.yaml", f"{backend.origin}/crm")
        with facade({"get-customer.yaml": text}) as base:
            answers, healthy_wall = asyncio.run(burst(f"{base}/v1/customers/1", clients))
        report(f"baseline, no limit: {clients} clients, immediate backend", answers, healthy_wall)

    with running(Backend(slow)) as backend:
        os.environ.update(
            FACADE_BACKEND_LIMITS=f"{backend.origin}=3",
            FACADE_BACKEND_QUEUE="50",
            FACADE_BACKEND_QUEUE_TIMEOUT="1",
        )
        text = mapping_with_address("customers/get-customer.yaml", f"{backend.origin}/crm")
        with facade({"get-customer.yaml": text}) as base:
            single = min(asyncio.run(burst(f"{base}/v1/customers/1", 1))[0][0][1] for _ in range(5))
            answers, wall = asyncio.run(burst(f"{base}/v1/customers/1", clients))
        report(f"limit 3, queue 50, 1 s: {clients} clients, 100 ms backend", answers, wall)
        print(f"  backend: {backend.calls} calls, at most {backend.most} at once")
        print(f"  one call alone: {ms(single)} ms")

    with running(Backend(failing)) as backend:
        os.environ.pop("FACADE_BACKEND_LIMITS")
        text = mapping_with_address("customers/get-customer.yaml", f"{backend.origin}/crm")
        with facade({"get-customer.yaml": text}) as base:
            while "circuit-open" not in httpx.get(f"{base}/v1/customers/1").text:
                pass
            before = backend.calls
            answers, wall = asyncio.run(burst(f"{base}/v1/customers/1", clients))
        report(f"open breaker: {clients} clients", answers, wall)
        print(f"  backend calls during the burst: {backend.calls - before}")
        p50 = percentile([t for _, t in answers], 0.5)
        print(f"  open-breaker p50 / one healthy call: {p50 / single:.2f}")
        print(f"  open-breaker burst / baseline burst (last answer): {wall / healthy_wall:.2f}")


if __name__ == "__main__":
    main()
