"""Instructions per request, counted under callgrind: a cache hit, a miss and a bare endpoint.

    apt-get install valgrind wrk nginx-light     # once
    PYTHONPATH=. .venv/bin/python bench/instructions.py [--seconds 20] [--root DIR ...]

On a machine shared with other work, req/s and even the CPU time a request costs move with
the neighbours from one run to the next, more than a change to the code does. The number
of instructions a server executes for a request does not: each server runs under
valgrind's callgrind, counting only while wrk drives it (`callgrind_control -i on`), and
the count is divided by the requests wrk completed. Instructions are not time (a load that
misses the CPU's caches costs more than an add, and the kernel's system calls are not
counted), so this complements the timed benchmarks; use it to compare two checkouts, or a
hit with the bare endpoint, where timings drown in noise. Everything runs about 50x slower
under valgrind, hence the few requests.

Targets, each a server of its own on 127.0.0.1:
- bare: a Starlette endpoint under uvicorn answering the facade's hit bytes (the one of
  bench/cache_hit.py);
- hit: `facade serve` (one worker) over mappings/customers/get-customer.yaml with `cache:
  {ttl: 3600}`, one id asked over and over;
- miss: the same facade, a copy of the mapping without a cache (every request calls nginx,
  which answers a canned GetCustomer reply, and translates it).
`--root DIR` (repeatable) counts the hit and the miss of each checkout given.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import _harness as h
from cache_hit import CACHE, bare, server_pid

VALGRIND = ("valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=/dev/null")
STARTUP_SECONDS = 600.0
"""A server loads its WSDLs and mappings about 50 times slower under valgrind."""


def counted(pid: int, url: str, seconds: float, connections: int) -> tuple[int, int]:
    """Requests wrk completed against `url` and the instructions the server `pid` executed
    meanwhile (all its threads)."""
    control = ["callgrind_control"]
    subprocess.run([*control, "--zero", str(pid)], check=True, capture_output=True)
    subprocess.run([*control, "--instr=on", str(pid)], check=True, capture_output=True)
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "60s", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        counters = subprocess.run(
            [*control, "-e", "Ir", str(pid)], check=True, capture_output=True, text=True
        ).stdout
    finally:
        subprocess.run([*control, "--instr=off", str(pid)], check=True, capture_output=True)
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors under wrk: {out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    threads = re.findall(r"^\s*Th\s+\d+\s+([\d,]+)", counters, re.MULTILINE)
    instructions = sum(int(n.replace(",", "")) for n in threads)
    if not requests or not instructions:
        raise RuntimeError(f"nothing counted for {url}: wrk said {out}; callgrind: {counters}")
    return requests, instructions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="wrk run per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--root", type=Path, action="append", default=[], help="checkout to run (repeatable)"
    )
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "wrk"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install -y valgrind wrk nginx-light")
    h.stop_on_sigterm()
    h.raise_nofile()
    roots = [root.resolve() for root in args.root] or [h.ROOT]
    rows: list[tuple[str, int, int]] = []
    with h.nginx({"/crm": h.get_customer_reply()}) as backend:
        source = h.mapping_with_address("customers/get-customer.yaml", backend.url("/crm"))
        fresh = source.replace("path: /v1/customers/{id}", "path: /v1/fresh/{id}")
        mappings = {"get-customer.yaml": source + CACHE, "fresh-customer.yaml": fresh}
        body = b""
        for root in roots:
            counts, hit_body = measure_facade(root, mappings, args, len(roots) > 1)
            rows += counts
            body = body or hit_body
        with bare(body, wrapper=VALGRIND) as base:
            pid, url = server_pid(int(base.rsplit(":", 1)[1])), f"{base}/v1/customers/1"
            rows.insert(0, ("bare", *counted(pid, url, args.seconds, args.connections)))
    report(rows, args)


def measure_facade(
    root: Path, mappings: dict[str, str], args: argparse.Namespace, named: bool
) -> tuple[list[tuple[str, int, int]], bytes]:
    """The hit and the miss of the facade of checkout `root`, under callgrind, and the
    hit's body."""
    import httpx

    suffix = f" ({root})" if named else ""
    wrapped = {"root": root, "wrapper": VALGRIND, "startup": STARTUP_SECONDS}
    with h.facade_process(mappings, **wrapped) as (base, _):  # type: ignore[arg-type]
        pid = server_pid(int(base.rsplit(":", 1)[1]))
        hit, miss = f"{base}/v1/customers/1", f"{base}/v1/fresh/1"
        for url in (hit, miss, miss):  # warmed: the entry exists, the pools are open
            httpx.get(url, timeout=60).raise_for_status()
        answer = httpx.get(hit, timeout=60)
        assert answer.headers["x-facade-cache"] == "hit"  # noqa: S101
        counts = [
            (f"hit{suffix}", *counted(pid, hit, args.seconds, args.connections)),
            (f"miss{suffix}", *counted(pid, miss, args.seconds, args.connections)),
        ]
    return counts, answer.content


def report(rows: list[tuple[str, int, int]], args: argparse.Namespace) -> None:
    bare_per = rows[0][2] / rows[0][1]
    table = []
    for name, requests, instructions in rows:
        per = instructions / requests
        table.append([name, f"{requests:,}", f"{per:,.0f}", f"{bare_per / per:.2f}"])
    print(f"\ncallgrind, wrk -t1 -c{args.connections} for {args.seconds:g} s per target")
    header = ["target", "requests", "instructions per request", "bare / target"]
    print(h.markdown_table(header, table))


if __name__ == "__main__":
    main()
