"""Do large replies stall other requests? Small-request latency with and without big replies.

    PYTHONPATH=. .venv/bin/python bench/loop_stall.py [--seconds 10] [--small 16] [--big 4]
    PYTHONPATH=. .venv/bin/python bench/loop_stall.py --rounds 3 \
        --variant FACADE_TRANSLATOR_NICE=0 --variant FACADE_TRANSLATOR_NICE=10

nginx serves two canned SOAP replies of the demo WSDL made by the project's own mock: a small
GetCustomer (about 0.8 KB) and a ListOrders with 5,000 orders (about 1.4 MB). The facade runs
as a real process over two mappings from the repository (get-customer and list-orders) pointed
at nginx. Small-request latency (16 callers on kept-alive connections, GET /v1/customers/1 in
a loop for 10 s) is measured (a) alone and (b) while 4 other callers fetch
/v1/customers/1/orders in a loop. The two groups of callers run in separate processes (uvloop
when installed), so reading big answers does not delay the small callers' own loop.

`--variant NAME=VALUE[,NAME=VALUE]` (repeatable) runs one facade per variant with those
environment variables, and `--rounds N` repeats both phases N times, each round going
through every variant in turn, so that a neighbour's burst on a shared machine hits them
alike: compare the variants' ratios of one run, round by round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _harness as h

ORDERS = 5_000
SMALL_PATH = "/v1/customers/1"
BIG_PATH = "/v1/customers/1/orders"
CALL_TIMEOUT = 60.0


# -- a load process --------------------------------------------------------------------------


async def load(url: str, concurrency: int, seconds: float) -> dict[str, object]:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    first_error = ""
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        ends = time.monotonic() + seconds

        async def caller() -> None:
            nonlocal errors, first_error
            while time.monotonic() < ends:
                start = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError) as exc:
                    errors += 1
                    first_error = first_error or f"{type(exc).__name__}: {exc}"[:100]
                    continue
                if status == 200:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors += 1
                    first_error = first_error or f"HTTP {status}"

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "first_error": first_error,
        "wall": wall,
        "p50": h.percentile(latencies, 0.5),
        "p99": h.percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
    }


def load_main(url: str, concurrency: int, seconds: float) -> None:
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(load(url, concurrency, seconds))
    else:
        result = uvloop.run(load(url, concurrency, seconds))
    print(json.dumps(result), flush=True)


def start_load(url: str, concurrency: int, seconds: float) -> subprocess.Popen[str]:
    args = [sys.executable, __file__, "--load", url, "--concurrency", str(concurrency)]
    args += ["--seconds", str(seconds)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def result_of(proc: subprocess.Popen[str], seconds: float) -> dict[str, object]:
    try:
        out, _ = proc.communicate(timeout=seconds + CALL_TIMEOUT + 30)
    finally:
        h.stop(proc)
    return json.loads(out.strip().splitlines()[-1])


# -- main ------------------------------------------------------------------------------------


def check_first(base: str) -> float:
    """One call to each route: both must answer 200 with the expected JSON. Returns the
    seconds of the big call alone."""
    import httpx

    small = httpx.get(base + SMALL_PATH, timeout=30)
    if small.status_code != 200 or small.json().get("Id") != 1:
        raise SystemExit(f"small route answered {small.status_code}: {small.text[:300]}")
    start = time.perf_counter()
    big = httpx.get(base + BIG_PATH, timeout=CALL_TIMEOUT)
    seconds = time.perf_counter() - start
    if big.status_code != 200 or len(big.json()["Orders"]) != ORDERS:
        raise SystemExit(f"big route answered {big.status_code}: {big.text[:300]}")
    print(f"check: {SMALL_PATH} -> 200, {len(small.content)} bytes")
    print(f"check: {BIG_PATH} -> 200, {ORDERS} orders, {len(big.content):,} bytes of JSON")
    return seconds


def row(name: str, r: dict[str, object]) -> list[str]:
    wall = float(r["wall"])  # type: ignore[arg-type]
    requests = int(r["requests"])  # type: ignore[call-overload]
    return [
        name,
        f"{requests:,}",
        f"{requests / wall:,.1f}" if wall else "-",
        h.ms(float(r["p50"])),  # type: ignore[arg-type]
        h.ms(float(r["p99"])),  # type: ignore[arg-type]
        h.ms(float(r["max"])),  # type: ignore[arg-type]
        str(r["errors"]),
    ]


def variant_env(text: str) -> dict[str, str]:
    """`A=1,B=2` -> {"A": "1", "B": "2"}."""
    pairs = [item.partition("=") for item in text.split(",") if item.strip()]
    if not pairs or any(not name or not equals for name, equals, _ in pairs):
        raise SystemExit(f"--variant {text!r}: write NAME=VALUE[,NAME=VALUE]")
    return {name.strip(): value.strip() for name, _, value in pairs}


def phases(base: str, args: argparse.Namespace) -> tuple[dict[str, object], ...]:
    """(a) the small callers alone, (b) beside the big callers, and the big callers."""
    alone = result_of(start_load(base + SMALL_PATH, args.small, args.seconds), args.seconds)
    time.sleep(1.0)
    # (b) big callers first, for longer, so they run through the whole small phase
    big_proc = start_load(base + BIG_PATH, args.big, args.seconds + 3)
    try:
        time.sleep(2.0)
        mixed = result_of(start_load(base + SMALL_PATH, args.small, args.seconds), args.seconds)
        big = result_of(big_proc, args.seconds + 3)
    finally:
        h.stop(big_proc)
    return alone, mixed, big


def report(
    args: argparse.Namespace,
    alone: dict[str, object],
    mixed: dict[str, object],
    big: dict[str, object],
) -> float:
    """The phases' table; returns p99(b) / p99(a)."""
    header = ["phase", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors"]
    print(
        h.markdown_table(
            header,
            [
                row(f"(a) {args.small} small callers alone", alone),
                row(f"(b) {args.small} small callers, {args.big} big callers running", mixed),
                row(f"(b) the {args.big} big callers ({BIG_PATH})", big),
            ],
        )
    )
    for name, r in (("a", alone), ("b", mixed), ("big", big)):
        if r["first_error"]:
            print(f"({name}) first error: {r['first_error']}")
    p99a, p99b = float(alone["p99"]), float(mixed["p99"])  # type: ignore[arg-type]
    p50a, p50b = float(alone["p50"]), float(mixed["p50"])  # type: ignore[arg-type]
    print(f"\np99(b) / p99(a) = {p99b / p99a:.1f}    p50(b) / p50(a) = {p50b / p50a:.1f}")
    return p99b / p99a


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--small", type=int, default=16, help="small-request callers")
    parser.add_argument("--big", type=int, default=4, help="big-request callers in (b)")
    parser.add_argument("--rounds", type=int, default=1, help="times both phases run")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="NAME=VALUE[,NAME=VALUE]: a facade with this environment (repeatable)",
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        load_main(args.load, args.concurrency, args.seconds)
        return

    h.stop_on_sigterm()
    h.raise_nofile()
    variants = {text: variant_env(text) for text in args.variant} or {"as configured": {}}
    print(h.machine())
    small_reply, big_reply = h.get_customer_reply(), h.list_orders_reply(ORDERS)
    print(f"SOAP replies: small {len(small_reply):,} bytes, big {len(big_reply):,} bytes\n")
    ratios: dict[str, list[float]] = {name: [] for name in variants}
    with h.nginx({"/small": small_reply, "/big": big_reply}) as server:
        mappings = {
            "get-customer.yaml": h.mapping_with_address(
                "customers/get-customer.yaml", server.url("/small")
            ),
            "list-orders.yaml": h.mapping_with_address(
                "orders/list-orders.yaml", server.url("/big")
            ),
        }
        with contextlib.ExitStack() as stack:
            bases = {}
            for name, env in variants.items():
                base, _ = stack.enter_context(h.facade_process(mappings, env=env))
                bases[name] = base
                print(f"{name}: one big call alone: {check_first(base) * 1000:.0f} ms\n")
            for round_ in range(1, args.rounds + 1):
                for name, base in bases.items():
                    print(f"## round {round_}, {name} ({h.machine()})\n")
                    ratios[name].append(report(args, *phases(base, args)))
                    print()
    if args.rounds > 1 or len(variants) > 1:
        print("p99(b) / p99(a) by round, and the median:")
        for name, found in ratios.items():
            rounds = ", ".join(f"{r:.2f}" for r in found)
            print(f"  {name}: {rounds}; median {statistics.median(found):.2f}")
    print(f"at the end: {h.machine()}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
