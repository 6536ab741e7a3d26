"""A cache hit on the facade against a bare Starlette endpoint sending the same bytes, and a
miss, in one run.

    PYTHONPATH=. .venv/bin/python bench/cache_hit.py [--rounds 3] [--seconds 5] [--connections 64]
    PYTHONPATH=. .venv/bin/python bench/cache_hit.py --root ../before --root .

nginx answers the demo WSDL's GetCustomer with a canned SOAP reply made by the project's own
mock. The facade runs as a real process (`python -m facade serve`) over two copies of
mappings/customers/get-customer.yaml pointed at nginx, both with `cache: {ttl: 3600,
public: true}`: /v1/customers/{id} is asked for one id (after one warming request every
request is a hit), /v1/fresh/{id} for a new id each request (every request is a miss: the
SOAP call, translation, shaping, encoding, and the store). The bare endpoint is a Starlette
app under uvicorn started the same way as `facade serve` (uvicorn.run, access log off,
log level warning, one worker), answering GET with the facade's hit bytes and content type.

wrk (one thread, N connections, keep-alive) drives each target in turn, round after round,
so that other work on the machine weighs on all three alike; the table shows the median
round of each, and the ratios to the bare endpoint. Besides req/s, the server process's
own CPU time per answered request (user + system, from /proc) is measured each round: on
a machine shared with other work, req/s swings with the neighbours, while the CPU a request
costs the server stays put, and on an idle machine the two ratios meet.

`--root DIR` (repeatable) serves the hit from the facade of each checkout given, side by
side in the same rounds, to compare two versions (the miss is measured on the first).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import _harness as h

CACHE = "cache:\n  ttl: 3600\n  public: true\n"
MISS_SCRIPT = """\
local counter = 0
function init(args) counter = tonumber(args[1]) end
function request()
  counter = counter + 1
  return wrk.format("GET", "/v1/fresh/" .. counter)
end
"""


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float = float("nan")
    """Server CPU (user + system) per answered request, in microseconds."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(port: int) -> int:
    """The process listening on 127.0.0.1:`port` among this one's children."""
    inode = _listening_inode(port)
    for task in Path("/proc").iterdir():
        if not task.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (task / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) != os.getpid():
                continue
            for fd in (task / "fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return int(task.name)
    raise RuntimeError(f"no child of this process listens on port {port}")


def _listening_inode(port: int) -> str:
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(f":{port:04X}") and parts[3] == "0A":
            return parts[9]
    raise RuntimeError(f"nothing listens on port {port}")


def bare_main(port: int, body_file: str) -> None:
    """The bare endpoint: Starlette under uvicorn, the same bytes on every GET."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = Path(body_file).read_bytes()

    async def endpoint(request: Request) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/v1/customers/{id}", endpoint)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextlib.contextmanager
def bare(body: bytes, wrapper: tuple[str, ...] = ()) -> Iterator[str]:
    """The bare endpoint answering `body`, started under `wrapper` (valgrind) if given;
    yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="bench-bare-") as name:
        body_file = Path(name) / "body.json"
        body_file.write_bytes(body)
        log = Path(name) / "bare.log"
        port = h.free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*wrapper, sys.executable, __file__, "--bare", str(port), str(body_file)],
                stdout=out,
                stderr=out,
            )
        try:
            h.wait_for_port(port, proc, log, "the bare endpoint")
            yield f"http://127.0.0.1:{port}"
        finally:
            h.stop(proc)


def measured(
    pid: int, url: str, seconds: int, connections: int, script: Path | None, *args: str
) -> Run:
    """One wrk run with the server's CPU time per answered request."""
    before = cpu_seconds(pid)
    run, answered = wrk(url, seconds, connections, script, *args)
    spent = cpu_seconds(pid) - before
    return replace(run, cpu_us=spent / max(1, answered) * 1e6)


def wrk(
    url: str, seconds: int, connections: int, script: Path | None, *args: str
) -> tuple[Run, int]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    command += [url]
    if args:
        command += ["--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    answered = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return Run(rate, _latency(out, "50%"), _latency(out, "99%"), errors), answered


def _latency(out: str, label: str) -> float:
    found = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if found is None:
        return float("nan")
    value, unit = float(found.group(1)), found.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def median_run(runs: list[Run]) -> Run:
    """The round with the median rate (its latencies belong to it)."""
    ordered = sorted(runs, key=lambda r: r.requests_per_second)
    return ordered[len(ordered) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--root", type=Path, action="append", default=[], help="checkout to run (repeatable)"
    )
    parser.add_argument("--bare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_main(int(args.bare[0]), args.bare[1])
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    h.stop_on_sigterm()
    h.raise_nofile()
    reply = h.get_customer_reply()
    with h.nginx({"/crm": reply}) as backend:
        source = h.mapping_with_address("customers/get-customer.yaml", backend.url("/crm"))
        fresh = source.replace("path: /v1/customers/{id}", "path: /v1/fresh/{id}")
        mappings = {"get-customer.yaml": source + CACHE, "fresh-customer.yaml": fresh + CACHE}
        roots = [root.resolve() for root in args.root] or [h.ROOT]
        with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
            import httpx

            hits = {}
            for root in roots:
                facade, _ = stack.enter_context(h.facade_process(mappings, root=root))
                hits[_label(root, roots)] = facade
            facade = next(iter(hits.values()))
            warmed = httpx.get(f"{facade}/v1/customers/1")
            for base in hits.values():
                httpx.get(f"{base}/v1/customers/1")
                assert httpx.get(f"{base}/v1/customers/1").headers["x-facade-cache"] == "hit"  # noqa: S101
            script = Path(tmp) / "miss.lua"
            script.write_text(MISS_SCRIPT)
            with bare(warmed.content) as bare_base:
                assert httpx.get(f"{bare_base}/v1/customers/1").content == warmed.content  # noqa: S101
                servers = {"bare": (server_pid(_port(bare_base)), f"{bare_base}/v1/customers/1")}
                for name, base in hits.items():
                    servers[name] = (server_pid(_port(base)), f"{base}/v1/customers/1")
                results = rounds(args, servers, facade, script)
    report(results, args, len(warmed.content))


def _label(root: Path, roots: list[Path]) -> str:
    return "hit" if len(roots) == 1 else f"hit ({root})"


def _port(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def rounds(
    args: argparse.Namespace,
    servers: dict[str, tuple[int, str]],
    facade: str,
    script: Path,
) -> dict[str, list[Run]]:
    """`servers`: each target's server process and URL, the bare endpoint first and then
    the hits; the miss goes to `facade`, the first hit's server."""
    results: dict[str, list[Run]] = {name: [] for name in [*servers, "miss"]}
    seconds, connections = args.seconds, args.connections
    facade_pid = list(servers.values())[1][0]
    for index in range(args.rounds):
        print(f"round {index + 1}/{args.rounds}", file=sys.stderr, flush=True)
        for name, (pid, url) in servers.items():
            results[name].append(measured(pid, url, seconds, connections, None))
        offset = str((index + 1) * 10_000_000)
        miss = measured(facade_pid, facade, seconds, connections, script, offset)
        results["miss"].append(miss)
    return results


def report(results: dict[str, list[Run]], args: argparse.Namespace, size: int) -> None:
    bare_rate = median_run(results["bare"]).requests_per_second
    bare_cpu = statistics.median(r.cpu_us for r in results["bare"])
    rows = []
    for name, runs in results.items():
        run = median_run(runs)
        spread = [r.requests_per_second for r in runs]
        rows.append(
            [
                name,
                f"{run.requests_per_second:,.0f}",
                f"{min(spread):,.0f}-{max(spread):,.0f}",
                f"{run.p50_ms:.2f}",
                f"{run.p99_ms:.2f}",
                f"{run.requests_per_second / bare_rate:.2f}",
                f"{(cpu := statistics.median(r.cpu_us for r in runs)):.0f}",
                f"{bare_cpu / cpu:.2f}",
                str(sum(r.errors for r in runs)),
            ]
        )
    print(
        f"\n{args.rounds} rounds x {args.seconds} s, wrk -t1 -c{args.connections}, "
        f"{size}-byte answer; {h.machine()}"
    )
    header = [
        "target",
        "req/s (median)",
        "range",
        "p50 ms",
        "p99 ms",
        "req/s vs bare",
        "server CPU us/req",
        "CPU: bare / target",
        "errors",
    ]
    print(h.markdown_table(header, rows))
    for name in (n for n in results if n.startswith("hit")):
        per_round = [
            (hit.requests_per_second / bare.requests_per_second, bare.cpu_us / hit.cpu_us)
            for hit, bare in zip(results[name], results["bare"], strict=True)
        ]
        print(f"\n{name}/bare per round: {', '.join(f'{r:.2f}' for r, _ in per_round)}")
        print(f"median: {statistics.median(r for r, _ in per_round):.2f}")
        print(f"bare CPU / {name} CPU per round: {', '.join(f'{c:.2f}' for _, c in per_round)}")
        print(f"median: {statistics.median(c for _, c in per_round):.2f}")


if __name__ == "__main__":
    main()
