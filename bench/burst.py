"""The facade under a burst: many clients at once, each on its own connection.

    PYTHONPATH=. .venv/bin/python bench/burst.py [--clients 2000] [--refused-clients 1000]

nginx answers the demo WSDL's GetCustomer with a canned SOAP reply made by the project's own
mock; the facade runs as a real process (`python -m facade serve`, raised open-file limit) over
a temp folder with two mappings: mappings/customers/get-customer.yaml pointed at nginx, and a
copy at /v1/down/customers/{id} pointed at a closed port on 127.0.0.1 (connection refused).

(a) N clients open a connection each and, released together, send one GET /v1/customers/1
    (`Connection: close`); counts of 200/502/503/504/other answers, of clients with no
    answer within the client timeout (60 s) and of connection errors, latency percentiles,
    and the time until the last answer. Meanwhile a probe in a process of its own
    asks /healthz every 50 ms on one kept-alive connection: its latency before and during the
    burst says how long the facade's event loop was unavailable.
(b) The same with clients calling the route whose backend refuses connections.
Each burst gets a fresh facade process, so work left over from one cannot slow the next.

The load generator is one asyncio process (uvloop when installed) writing raw HTTP/1.1, so it
spends little CPU per client; it still shares the machine's cores with the facade.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import _harness as h

CLIENT_TIMEOUT = 60.0  # a client gives up after this many seconds
PROBE_EVERY = 0.05
PROBE_MAX_SECONDS = 300.0


# -- the probe (runs in its own process) ----------------------------------------------------


def probe_main(base: str) -> None:
    """GET /healthz every 50 ms on one connection until stdin closes; print the samples."""
    host, port = base.split("//", 1)[1].split(":")
    samples: list[tuple[float, float]] = []  # (monotonic start, seconds; -1 for a failure)
    stopped = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stopped.set()), daemon=True).start()
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    ends = time.monotonic() + PROBE_MAX_SECONDS
    print("ready", flush=True)
    while not stopped.is_set() and time.monotonic() < ends:
        start = time.monotonic()
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            response.read()
            samples.append((start, time.monotonic() - start if response.status == 200 else -1))
        except (OSError, http.client.HTTPException):
            samples.append((start, -1.0))
            connection.close()
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
        time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - start)))
    print(json.dumps(samples), flush=True)


@contextlib.contextmanager
def probe(base: str):
    """Yields a function that stops the probe and returns its samples."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--probe", base],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        proc.stdout.readline()  # "ready"

        def finish() -> list[tuple[float, float]]:
            assert proc.stdout is not None and proc.stdin is not None
            proc.stdin.close()
            return [tuple(x) for x in json.loads(proc.stdout.readline())]

        yield finish
    finally:
        h.stop(proc)


# -- the burst -------------------------------------------------------------------------------


@dataclass
class Outcome:
    statuses: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # of every answered request
    wall: float = 0.0
    connected: float = 0.0  # seconds until every client had a connection (or gave up)
    first_error: str = ""

    def count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def burst(base: str, path: str, clients: int, timeout: float) -> Outcome:
    host, port = base.split("//", 1)[1].split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
    outcome = Outcome()
    go = asyncio.Event()
    connected = 0
    all_connected = asyncio.Event()

    async def client() -> None:
        nonlocal connected
        writer = None
        try:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, int(port)), timeout
                )
            finally:
                connected += 1
                if connected == clients:
                    all_connected.set()
            await go.wait()
            start = time.perf_counter()
            writer.write(request)
            answer = await asyncio.wait_for(reader.read(), timeout)  # until close
            outcome.latencies.append(time.perf_counter() - start)
            status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else ""
            outcome.count(status if status in ("200", "502", "503", "504") else "other")
        except TimeoutError:
            outcome.count("no answer")
        except (OSError, IndexError) as exc:
            outcome.count("connection error")
            outcome.first_error = outcome.first_error or f"{type(exc).__name__}: {exc}"[:100]
        finally:
            if writer is not None:
                writer.close()

    started = time.perf_counter()
    tasks = [asyncio.ensure_future(client()) for _ in range(clients)]
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(all_connected.wait(), timeout)
    outcome.connected = time.perf_counter() - started
    released = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    outcome.wall = time.perf_counter() - released
    return outcome


def run_burst(base: str, path: str, clients: int, timeout: float) -> Outcome:
    coro = burst(base, path, clients, timeout)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# -- main -------------------------------------------------------------------------------------


STATUS_COLUMNS = ("200", "502", "503", "504", "other", "no answer", "connection error")


def outcome_row(name: str, clients: int, o: Outcome) -> list[str]:
    return [
        name,
        str(clients),
        *(str(o.statuses.get(k, 0)) for k in STATUS_COLUMNS),
        h.ms(h.percentile(o.latencies, 0.5)),
        h.ms(h.percentile(o.latencies, 0.99)),
        h.ms(max(o.latencies, default=float("nan"))),
        f"{o.connected:.2f}",
        f"{o.wall:.2f}",
    ]


def probe_row(name: str, samples: list[tuple[float, float]]) -> list[str]:
    ok = [s for _, s in samples if s >= 0]
    return [
        name,
        str(len(samples)),
        str(len(samples) - len(ok)),
        h.ms(h.percentile(ok, 0.5)),
        h.ms(h.percentile(ok, 0.99)),
        h.ms(max(ok, default=float("nan"))),
    ]


def check_first(base: str) -> None:
    import httpx

    response = httpx.get(f"{base}/v1/customers/1", timeout=10)
    body = response.json()
    if response.status_code != 200 or body.get("Id") != 1:
        raise SystemExit(f"the facade answered {response.status_code}: {response.text[:300]}")
    print(f"check: GET /v1/customers/1 -> 200 {body.get('Name')!r}")
    down = httpx.get(f"{base}/v1/down/customers/1", timeout=30)
    print(f"check: GET /v1/down/customers/1 -> {down.status_code} {down.json().get('type')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="2000", help="clients in (a); a list: 200,2000")
    parser.add_argument("--refused-clients", default="1000", help="clients in (b); a list too")
    parser.add_argument("--timeout", type=float, default=CLIENT_TIMEOUT, help="client timeout")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        probe_main(args.probe)
        return

    h.stop_on_sigterm()
    limit = h.raise_nofile()
    print(f"{h.machine()}; open-file limit {limit}\n")
    closed_port = h.free_port()  # nothing listens there: connections are refused
    bursts = [("(a) backend up", "/v1/customers/1", int(n)) for n in args.clients.split(",")]
    bursts += [
        ("(b) backend refuses", "/v1/down/customers/1", int(n))
        for n in args.refused_clients.split(",")
    ]
    rows, probes = [], []
    with h.nginx({"/crm": h.get_customer_reply()}) as server:
        up = h.mapping_with_address("customers/get-customer.yaml", server.url("/crm"))
        down = h.mapping_with_address(
            "customers/get-customer.yaml", f"http://127.0.0.1:{closed_port}/crm"
        ).replace("path: /v1/customers/{id}", "path: /v1/down/customers/{id}")
        mappings = {"get-customer.yaml": up, "get-customer-down.yaml": down}
        for index, (name, path, clients) in enumerate(bursts):
            with h.facade(mappings) as base:
                if index == 0:
                    check_first(base)
                with probe(base) as finish:
                    time.sleep(1.0)  # a quiet second of samples before the burst
                    released = time.monotonic()
                    outcome = run_burst(base, path, clients, args.timeout)
                    finished = time.monotonic()
                    samples = finish()
            rows.append(outcome_row(name, clients, outcome))
            if outcome.first_error:
                print(f"{name}, {clients} clients: first connection error: {outcome.first_error}")
            before = [s for s in samples if s[0] < released]
            during = [s for s in samples if released <= s[0] <= finished]
            probes.append(probe_row(f"{name}, {clients} clients: before", before))
            probes.append(probe_row(f"{name}, {clients} clients: during", during))

    print()
    header = ["burst", "clients", *STATUS_COLUMNS, "p50 ms", "p99 ms", "max ms"]
    header += ["connect s", "to last answer s"]
    print(h.markdown_table(header, rows))
    print("\n/healthz probe, every 50 ms on its own connection (from its own process):\n")
    header = ["phase", "samples", "failed", "p50 ms", "p99 ms", "max ms"]
    print(h.markdown_table(header, probes))
    print(f"\nat the end: {h.machine()}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    main()
