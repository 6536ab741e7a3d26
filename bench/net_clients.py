"""Which HTTP client should carry the facade's calls to SOAP backends? Measured, not guessed.

    PYTHONPATH=. .venv/bin/python bench/net_clients.py [--quick] [--clients a,b,...]

A canned backend (nginx, one worker, keep-alive) answers every POST with a SOAP 1.1
GetCustomer reply of the demo WSDL (about 0.8 KB). First wrk measures nginx alone (one wrk
thread at 64 and 1,000 connections) to show that the backend is far above what any Python
client reaches. Then each client, in a fresh process of its own (one asyncio loop, one core at
most), POSTs a ~400-byte SOAP request with 1, 64 and 1,000 calls in flight: a fixed number of
requests per level, cut short by a time cap. One table row per client and level: requests per
second, p50/p99 latency, errors, and the client process's CPU time per request (user + system,
from getrusage) with its share of one core. The machine's cores are shared by nginx and the
client, so compare the rows of one run with each other, not with another machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import _harness as h

LEVELS = (1, 64, 1000)
REQUESTS = {1: 2_000, 64: 20_000, 1000: 20_000}
QUICK_REQUESTS = {1: 300, 64: 3_000, 1000: 3_000}
TIME_CAP = 30.0  # seconds per client and level (warm-up and measurement each)
QUICK_TIME_CAP = 15.0
CALL_TIMEOUT = 10.0  # what the project gives a legacy call by default
PATH = "/crm"
HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "SOAPAction": '"http://example.com/crm/GetCustomer"',
}


def request_body() -> bytes:
    """A ~400-byte SOAP 1.1 GetCustomer request (padded with a header the way real ones are)."""
    envelope = h.request_envelope("GetCustomer", "<CustomerId>1</CustomerId>")
    pad = 400 - len(envelope) - len("<soap:Header><!---->") - len("</soap:Header>")
    header = f"<soap:Header><!--{'x' * max(0, pad)}--></soap:Header>"
    return envelope.replace(b"<soap:Body>", header.encode() + b"<soap:Body>")


# -- the clients ---------------------------------------------------------------------------

Post = Callable[[], Awaitable[int]]  # one call; returns the HTTP status after reading the body


@dataclass(frozen=True)
class Client:
    key: str
    label: str
    loop: str  # "asyncio" or "uvloop"


CLIENTS = {
    c.key: c
    for c in (
        Client(
            "httpx-project", "httpx, limits 100/20 keep-alive (as the project used it)", "asyncio"
        ),
        Client("httpx-tuned", "httpx tuned: limits = in-flight, all kept alive, http1", "asyncio"),
        Client("aiohttp-100", "aiohttp TCPConnector(limit=100)", "asyncio"),
        Client("aiohttp-0", "aiohttp TCPConnector(limit=0)", "asyncio"),
        Client("aiohttp-100-uvloop", "aiohttp TCPConnector(limit=100) on uvloop", "uvloop"),
        Client("httpx-tuned-uvloop", "httpx tuned on uvloop", "uvloop"),
        Client("httpx-tuned-sniffio", "httpx tuned, with `sniffio` importable (stub)", "asyncio"),
        Client("facade-seam", "the facade's seam: facade.net.HttpTransport (aiohttp)", "asyncio"),
        Client("raw-streams", "hand-written HTTP/1.1 on asyncio streams (floor)", "asyncio"),
    )
}


async def open_client(key: str, url: str, body: bytes, inflight: int):
    """(post, close) for one client kind."""
    if key.startswith("httpx"):
        if key.endswith("-sniffio"):
            _stub_sniffio()
        import httpx

        if key == "httpx-project":
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
            client = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
        else:
            limits = httpx.Limits(
                max_connections=inflight, max_keepalive_connections=inflight, keepalive_expiry=60
            )
            client = httpx.AsyncClient(
                limits=limits, http1=True, http2=False, follow_redirects=False, trust_env=False
            )

        async def post_httpx() -> int:
            response = await client.post(url, content=body, headers=HEADERS, timeout=CALL_TIMEOUT)
            return response.status_code

        return post_httpx, client.aclose

    if key.startswith("aiohttp"):
        import aiohttp

        limit = 0 if key == "aiohttp-0" else 100
        connector = aiohttp.TCPConnector(limit=limit, keepalive_timeout=60, ttl_dns_cache=None)
        session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT)
        )

        async def post_aiohttp() -> int:
            async with session.post(url, data=body, headers=HEADERS) as response:
                await response.read()
                return response.status

        return post_aiohttp, session.close

    if key == "facade-seam":
        from facade.net import Deadline, HttpTransport

        transport = HttpTransport()

        async def post_seam() -> int:
            reply = await transport.request(
                "POST", url, body, HEADERS, Deadline.after(CALL_TIMEOUT)
            )
            return reply.status

        return post_seam, transport.aclose

    if key == "raw-streams":
        return await _raw_client(url, body)
    raise SystemExit(f"unknown client {key!r}")


def _stub_sniffio() -> None:
    """httpcore 1.0 imports `sniffio` on every lock it sets up; anyio 4.x no longer installs
    it, so in an environment without it each of those is a failed import that searches
    sys.path. This stub stands in for the package to measure what that costs."""
    if importlib.util.find_spec("sniffio") is None:
        stub = types.ModuleType("sniffio")
        stub.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = stub


async def _raw_client(url: str, body: bytes):
    """The least a client can do: one kept-alive connection per caller, a fixed request,
    Content-Length framing only. A floor for the loop's own cost, not a usable client."""
    host_port = url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host_port}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in HEADERS.items())
        + f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    every: list[asyncio.StreamWriter] = []

    async def post_raw() -> int:
        if idle:
            reader, writer = idle.pop()
        else:
            reader, writer = await asyncio.open_connection(host, int(port))
            every.append(writer)
        writer.write(head + body)
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        idle.append((reader, writer))
        return int(status_line.split()[1])

    async def close() -> None:
        for writer in every:
            writer.close()

    return post_raw, close


# -- one measurement (runs in its own process) ----------------------------------------------


@dataclass
class Result:
    client: str
    inflight: int
    requests: int
    ok: int
    errors: int
    seconds: float
    p50: float
    p99: float
    cpu: float  # client process CPU seconds over the measured window
    capped: bool
    first_error: str = ""


class Meter:
    """Counts of one measurement; a watchdog thread can read them when the loop is stuck."""

    def __init__(self, key: str, inflight: int, total: int) -> None:
        self.key, self.inflight, self.total = key, inflight, total
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""
        self.started = 0.0
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.measuring = False

    def reset(self) -> None:
        self.latencies, self.errors, self.first_error = [], 0, ""
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.started = time.perf_counter()
        self.measuring = True

    def result(self, note: str = "") -> Result:
        seconds = time.perf_counter() - self.started
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - self.usage.ru_utime) + (after.ru_stime - self.usage.ru_stime)
        latencies = list(self.latencies)
        done = len(latencies) + self.errors
        return Result(
            client=self.key,
            inflight=self.inflight,
            requests=done,
            ok=len(latencies),
            errors=self.errors,
            seconds=seconds,
            p50=h.percentile(latencies, 0.50),
            p99=h.percentile(latencies, 0.99),
            cpu=cpu,
            capped=done < self.total,
            first_error="; ".join(x for x in (note, self.first_error) if x),
        )


async def measure(meter: Meter, url: str, cap: float) -> Result:
    inflight = meter.inflight
    post, close = await open_client(meter.key, url, request_body(), inflight)
    issued = 0
    limit = 0
    deadline = 0.0

    async def caller() -> None:
        nonlocal issued
        while issued < limit and time.monotonic() < deadline:
            issued += 1
            start = time.perf_counter()
            try:
                status = await post()
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
                meter.errors += 1
                meter.first_error = meter.first_error or f"{type(exc).__name__}: {exc}"[:120]
                continue
            if status == 200:
                meter.latencies.append(time.perf_counter() - start)
            else:
                meter.errors += 1
                meter.first_error = meter.first_error or f"HTTP {status}"

    async def run(count: int) -> None:
        nonlocal issued, limit, deadline
        issued, limit, deadline = 0, count, time.monotonic() + cap
        callers = [asyncio.ensure_future(caller()) for _ in range(inflight)]
        # callers stop issuing at the deadline; calls still waiting after it are abandoned
        _, late = await asyncio.wait(callers, timeout=cap + CALL_TIMEOUT)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    try:
        await run(inflight)  # warm-up, not measured: every caller makes one call
        meter.reset()
        await run(meter.total)
        result = meter.result()
    finally:
        await close()
    return result


def worker_main(args: argparse.Namespace) -> None:
    h.raise_nofile()
    client = CLIENTS[args.worker]
    meter = Meter(client.key, args.inflight, args.requests)
    # a loop can be too busy to reach its own timeouts (a pool doing quadratic work per
    # call); then this thread reports what was counted so far and ends the process
    threading.Thread(
        target=_watchdog, args=(meter, 2 * args.cap + CALL_TIMEOUT), daemon=True
    ).start()
    coro = measure(meter, args.url, args.cap)
    if client.loop == "uvloop":
        import uvloop

        result = uvloop.run(coro)
    else:
        result = asyncio.run(coro)
    print(json.dumps(asdict(result)))


def _watchdog(meter: Meter, seconds: float) -> None:
    time.sleep(seconds)
    if not meter.measuring:
        meter.reset()  # stuck in the warm-up: nothing was measured
    note = f"loop stuck, stopped after {seconds:g} s"
    print(json.dumps(asdict(meter.result(note))), flush=True)
    os._exit(0)


def run_worker(key: str, url: str, inflight: int, total: int, cap: float) -> Result:
    args = [sys.executable, __file__, "--worker", key, "--url", url]
    args += ["--inflight", str(inflight), "--requests", str(total), "--cap", str(cap)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=cap * 2 + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{key} at {inflight} failed: {done.stderr[-1500:]}")
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


# -- wrk against nginx alone -----------------------------------------------------------------

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def wrk(url: str, body: bytes, connections: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        headers = "".join(f'wrk.headers["{k}"] = {json.dumps(v)}\n' for k, v in HEADERS.items())
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\n{headers}')
    try:
        done = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
    finally:
        os.unlink(script.name)
    out = done.stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(match.group(1)) * UNITS[match.group(2)] if match else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(rps.group(1)) if rps else float("nan"),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "errors": float(errors.group(1)) if errors else 0.0,
        "socket_errors": sock.group(1) if sock else "",
    }


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter caps")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated keys")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--inflight", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--cap", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return

    h.stop_on_sigterm()
    h.raise_nofile()
    keys = [k for k in args.clients.split(",") if k]
    for key in keys:
        if key not in CLIENTS:
            parser.error(f"unknown client {key!r}; known: {', '.join(CLIENTS)}")
    levels = [int(x) for x in args.levels.split(",")]
    counts = QUICK_REQUESTS if args.quick else REQUESTS
    cap = QUICK_TIME_CAP if args.quick else TIME_CAP
    body = request_body()
    reply = h.get_customer_reply()
    print(f"request {len(body)} bytes, reply {len(reply)} bytes; {h.machine()}\n")

    with h.nginx({PATH: reply}) as server:
        url = server.url(PATH)
        print("## nginx alone (wrk -t1, POST)\n")
        rows = []
        for connections in (64, 1000):
            got = wrk(url, body, connections, 3 if args.quick else 8)
            rows.append(
                [
                    str(connections),
                    f"{got['rps']:,.0f}",
                    h.ms(got["p50"]),
                    h.ms(got["p99"]),
                    f"{got['errors']:.0f} {got['socket_errors']}".strip(),
                ]
            )
        print(h.markdown_table(["connections", "req/s", "p50 ms", "p99 ms", "errors"], rows))
        print()

        print("## Python clients, one process, one event loop\n")
        rows = []
        for key in keys:
            for level in levels:
                count = counts.get(level, counts[max(counts)])
                r = run_worker(key, url, level, count, cap)
                rps = r.ok / r.seconds if r.seconds else float("nan")
                per = f"{r.cpu / r.requests * 1e6:,.0f}" if r.requests else "-"
                note = "time cap hit" if r.capped else ""
                if r.first_error:
                    note = (note + "; " if note else "") + r.first_error
                rows.append(
                    [
                        CLIENTS[key].label,
                        str(level),
                        f"{r.requests:,}",
                        f"{rps:,.0f}",
                        h.ms(r.p50),
                        h.ms(r.p99),
                        str(r.errors),
                        per,
                        f"{r.cpu / r.seconds:.0%}" if r.requests and r.seconds else "-",
                        note,
                    ]
                )
                print(f"  {key} @ {level}: {rps:,.0f} req/s", file=sys.stderr, flush=True)
        header = ["client", "in flight", "requests", "req/s", "p50 ms", "p99 ms", "errors"]
        header += ["CPU µs/req", "CPU/wall", "note"]
        print(h.markdown_table(header, rows))
        print(f"\nat the end: {h.machine()}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
