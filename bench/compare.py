"""The issue's figures in one run: the facade beside what a user would write by hand.

    PYTHONPATH=. .venv/bin/python bench/compare.py [--seconds 5] [--rounds 3] [--quick]

Needs wrk and nginx (`apt-get install wrk nginx-light`) and network access to PyPI once, to
install `soap2rest` 0.1.0 into its own virtual environment under ~/.cache/facade-bench (it
pins old versions). Starts, on 127.0.0.1:

- nginx serving canned SOAP replies of the demo CRM (made by the project's own mock),
  measured alone to show that it does not limit;
- the facade, 1 worker and 2 workers (`facade serve --workers N`);
- a hand-written adapter (bench/adapter.py: FastAPI and zeep's synchronous client);
- `soap2rest` 0.1.0 on the same WSDL;
- a bare Starlette endpoint answering 1 KB (bench/bare.py): the stack's ceiling.

wrk drives each in turn, round after round (alternating, so a neighbour's burst on this
shared machine hits every target alike), and the ratios are taken within each round, then
their median is printed. Then: bytes on the wire and the CPU cost of each content coding,
peak memory of each server, the large-reply path (MB/s and peak memory against the reply's
size), the loop-stall figure (bench/loop_stall.py), bench/translate_reply.py and
bench/cache_hit.py when present, and a py-spy profile of the facade's miss path.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import _harness as h
import _profile
import _wrk
import yaml
from _wrk import Run, Target

ORDERS = 40
"""Orders in the mid-sized reply used for compression (about 5 KB of JSON)."""
BIG_ORDERS = 5_000
"""Orders in the large reply (about 1.4 MB of SOAP)."""
SOAP2REST = "soap2rest==0.1.0"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "facade-bench"
CODINGS = ("identity", "gzip", "br", "zstd")


# -- the servers -------------------------------------------------------------------------


def facade_mappings(crm: str, orders: str, big: str) -> dict[str, str]:
    """get-customer (miss path), a cached twin, list-orders fresh and cached (compression),
    and list-orders on the large reply."""

    def variant(source: str, address: str, path: str | None, ttl: float | None) -> str:
        document = yaml.safe_load(h.mapping_with_address(source, address))
        document.pop("new", None)
        if path is not None:
            document["route"]["path"] = path
        if ttl is not None:
            document["cache"] = {"ttl": ttl}
        return yaml.safe_dump(document)

    customer, orders_file = "customers/get-customer.yaml", "orders/list-orders.yaml"
    return {
        "get-customer.yaml": variant(customer, crm, None, None),
        "cached-customer.yaml": variant(customer, crm, "/v1/cached/customers/{id}", 3600),
        "list-orders.yaml": variant(orders_file, orders, None, None),
        "cached-orders.yaml": variant(
            orders_file, orders, "/v1/cached/customers/{id}/orders", 3600
        ),
        "big-orders.yaml": variant(orders_file, big, "/v1/big/customers/{id}/orders", None),
    }


def soap2rest_command() -> Path:
    """soap2rest's command in its own virtual environment, made on first use."""
    venv = CACHE_DIR / "soap2rest-0.1.0"
    python = venv / "bin" / "python"
    command = venv / "bin" / "soap2rest"
    if not command.exists():
        print(f"installing {SOAP2REST} into {venv} (once)", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", SOAP2REST]
        subprocess.run(pip, check=True)
    return command


def wsdl_at(folder: Path, address: str) -> Path:
    """The demo WSDL with its SOAP 1.1 address pointing at `address` (soap2rest reads it)."""
    text = h.CRM_WSDL.read_text()
    text = re.sub(r'(<soap:address location=")[^"]*(")', rf"\g<1>{address}\g<2>", text, count=1)
    target = folder / "crm.wsdl"
    target.write_text(text)
    return target


def uvicorn_args(app: str, port: int) -> list[str]:
    """The same server settings as `facade serve`: uvloop and httptools when installed."""
    args = [sys.executable, "-m", "uvicorn", "--app-dir", str(h.ROOT / "bench"), app]
    return args + ["--port", str(port), "--log-level", "warning", "--no-access-log"]


@contextlib.contextmanager
def servers(tmp: Path) -> Iterator[dict[str, object]]:
    """Every server of the comparison, started; yields their URLs and processes."""
    replies = {
        "/crm": h.get_customer_reply(),
        "/orders": h.list_orders_reply(ORDERS),
        "/big": h.list_orders_reply(BIG_ORDERS),
    }
    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(h.nginx(replies))
        crm = backend.url("/crm")
        mappings = facade_mappings(crm, backend.url("/orders"), backend.url("/big"))
        one, one_proc = stack.enter_context(h.facade_process(mappings, workers=1))
        two, two_proc = stack.enter_context(h.facade_process(mappings, workers=2))
        adapter_port, s2r_port, bare_port = h.free_port(), h.free_port(), h.free_port()
        env = {"CRM_WSDL": str(h.CRM_WSDL), "CRM_URL": crm}
        adapter = stack.enter_context(
            h.server(uvicorn_args("adapter:app", adapter_port), adapter_port, "adapter", env)
        )
        bare = stack.enter_context(h.server(uvicorn_args("bare:app", bare_port), bare_port, "bare"))
        s2r_args = [str(soap2rest_command()), "--wsdl"]
        s2r_args += [str(wsdl_at(tmp, crm)), "--host", "127.0.0.1", "--port", str(s2r_port)]
        s2r = stack.enter_context(
            h.server([*s2r_args, "--log-level", "warning"], s2r_port, "soap2rest")
        )
        yield {
            "big": len(replies["/big"]),
            "backend": backend,
            "facade": one,
            "facade2": two,
            "adapter": f"http://127.0.0.1:{adapter_port}",
            "soap2rest": f"http://127.0.0.1:{s2r_port}",
            "bare": f"http://127.0.0.1:{bare_port}",
            "pids": {
                "backend (nginx)": int((backend.tmp / "nginx.pid").read_text()),
                "facade, 1 worker": one_proc.pid,
                "facade, 2 workers": two_proc.pid,
                "hand-written adapter": adapter.pid,
                "soap2rest": s2r.pid,
                "bare Starlette": bare.pid,
            },
        }


def server_of(name: str, s: dict[str, object]) -> int:
    """The process serving a target, by the target's name."""
    pids: dict[str, int] = s["pids"]  # type: ignore[assignment]
    for prefix, server in (
        ("backend", "backend (nginx)"),
        ("facade 2", "facade, 2 workers"),
        ("facade 1", "facade, 1 worker"),
        ("orders", "facade, 1 worker"),
        ("hand-written", "hand-written adapter"),
        ("soap2rest", "soap2rest"),
        ("bare", "bare Starlette"),
    ):
        if name.startswith(prefix):
            return pids[server]
    raise KeyError(name)


def targets(s: dict[str, object]) -> list[Target]:
    backend: h.Nginx = s["backend"]  # type: ignore[assignment]
    facade, facade2 = str(s["facade"]), str(s["facade2"])
    soap = h.request_envelope("GetCustomer", "<CustomerId>1</CustomerId>")
    customer = "/v1/customers/1"
    listed = [
        Target("backend alone (nginx), c64", backend.url("/crm"), 64, "POST", soap),
        Target("backend alone (nginx), c1", backend.url("/crm"), 1, "POST", soap),
        Target("facade 1 worker, miss, c64", facade + customer),
        Target("facade 1 worker, miss, c1", facade + customer, 1),
        Target("facade 2 workers, miss, c64", facade2 + customer),
        Target("facade 1 worker, hit, c64", facade + "/v1/cached/customers/1"),
        Target("hand-written adapter, c64", f"{s['adapter']}{customer}"),
        Target(
            "soap2rest 0.1.0, c64",
            f"{s['soap2rest']}/call/GetCustomer",
            64,
            "POST",
            b'{"CustomerId": "1"}',
            {"Content-Type": "application/json"},
        ),
        Target("bare Starlette 1 KB, c64", f"{s['bare']}/bare"),
    ]
    for coding in CODINGS:
        headers = {"Accept-Encoding": coding}
        listed.append(
            Target(f"orders miss, {coding}", facade + "/v1/customers/1/orders", 64, headers=headers)
        )
        listed.append(
            Target(
                f"orders hit, {coding}",
                facade + "/v1/cached/customers/1/orders",
                64,
                headers=headers,
            )
        )
    return listed


def check(target: Target) -> None:
    """One call: 200 and customer 1 (or orders) in the answer, before anything is timed."""
    import httpx

    headers = {"Accept-Encoding": "identity", **target.headers}
    response = httpx.request(
        target.method, target.url, content=target.body or None, headers=headers, timeout=30
    )
    if response.status_code != 200:
        raise SystemExit(f"{target.name} answered {response.status_code}: {response.text[:300]}")


# -- measuring -------------------------------------------------------------------------------

RATIOS: dict[str, Callable[[dict[str, Run]], float]] = {
    "1. miss path vs hand-written adapter (target >= 4x)": lambda r: (
        r["facade 1 worker, miss, c64"].rps / r["hand-written adapter, c64"].rps
    ),
    "1. miss path vs soap2rest (target >= 4x)": lambda r: (
        r["facade 1 worker, miss, c64"].rps / r["soap2rest 0.1.0, c64"].rps
    ),
    "2. cache hit vs bare Starlette (target >= 0.6x)": lambda r: (
        r["facade 1 worker, hit, c64"].rps / r["bare Starlette 1 KB, c64"].rps
    ),
    "2. cache hit p99 / p50 (target < 3)": lambda r: (
        r["facade 1 worker, hit, c64"].p99 / r["facade 1 worker, hit, c64"].p50
    ),
    "3. added latency at c1, p50 (ms)": lambda r: (
        (r["facade 1 worker, miss, c1"].p50 - r["backend alone (nginx), c1"].p50) * 1000
    ),
    "3. added latency at c1, p99 (ms; target <= 1)": lambda r: (
        (r["facade 1 worker, miss, c1"].p99 - r["backend alone (nginx), c1"].p99) * 1000
    ),
    "5. 2 workers vs 1 worker, miss (target >= 1.7x)": lambda r: (
        r["facade 2 workers, miss, c64"].rps / r["facade 1 worker, miss, c64"].rps
    ),
    "1. CPU per answer: hand-written adapter / facade miss": lambda r: (
        r["hand-written adapter, c64"].cpu_per_request
        / r["facade 1 worker, miss, c64"].cpu_per_request
    ),
    "1. CPU per answer: soap2rest / facade miss": lambda r: (
        r["soap2rest 0.1.0, c64"].cpu_per_request / r["facade 1 worker, miss, c64"].cpu_per_request
    ),
    "2. CPU per answer: bare Starlette / facade hit": lambda r: (
        r["bare Starlette 1 KB, c64"].cpu_per_request
        / r["facade 1 worker, hit, c64"].cpu_per_request
    ),
    "backend alone vs the fastest facade figure (>> 1: it does not limit)": lambda r: (
        r["backend alone (nginx), c64"].rps
        / max(r["facade 2 workers, miss, c64"].rps, r["facade 1 worker, hit, c64"].rps)
    ),
}


def rounds(
    listed: list[Target], servers: dict[str, int], count: int, seconds: float
) -> list[dict[str, Run]]:
    """Every target in turn, `count` times; `servers` gives each target's server process
    (its whole tree is counted for CPU)."""
    print(f"warming up {len(listed)} targets", flush=True)
    for target in listed:
        check(target)
        _wrk.run(target, min(2.0, seconds))
    results = []
    for number in range(1, count + 1):
        print(f"round {number}/{count}: {h.machine()}", flush=True)
        results.append({t.name: measured(t, servers[t.name], seconds) for t in listed})
    return results


def measured(target: Target, pid: int, seconds: float) -> Run:
    """One wrk run with the server's CPU per answer: on a shared machine req/s follows the
    neighbours, while the CPU an answer costs the server stays put."""
    tree = h.process_tree(pid)
    before = h.cpu_seconds(tree)
    run = _wrk.run(target, seconds)
    used = h.cpu_seconds(tree) - before
    return replace(run, cpu_per_request=used / run.requests if run.requests else float("nan"))


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_runs(listed: list[Target], results: list[dict[str, Run]]) -> None:
    rows = []
    for target in listed:
        runs = [r[target.name] for r in results]
        rows.append(
            [
                target.name,
                f"{median([r.rps for r in runs]):,.0f}",
                f"{min(r.rps for r in runs):,.0f}-{max(r.rps for r in runs):,.0f}",
                h.ms(median([r.p50 for r in runs])),
                h.ms(median([r.p99 for r in runs])),
                f"{median([r.bytes_per_request for r in runs]):,.0f}",
                f"{median([r.cpu_per_request for r in runs]) * 1e6:,.0f}",
                str(sum(r.errors for r in runs)),
            ]
        )
    header = ["target", "req/s (median)", "range", "p50 ms", "p99 ms", "bytes/answer"]
    header += ["server CPU us/answer", "errors"]
    print(h.markdown_table(header, rows))


def print_ratios(results: list[dict[str, Run]]) -> None:
    rows = []
    for name, ratio in RATIOS.items():
        values = [ratio(r) for r in results]
        spread = f"{min(values):.2f}-{max(values):.2f}"
        rows.append([name, f"{median(values):.2f}", spread])
    print(h.markdown_table(["ratio (within each round)", "median", "rounds"], rows))


# -- compression -------------------------------------------------------------------------------


def compression(base: str, results: list[dict[str, Run]]) -> None:
    """Answer bytes per coding, CPU per compression of that answer, and the throughput of
    the fresh and the cached route per coding."""
    import brotli
    import httpx
    import zstandard

    from facade.compression import CODECS

    plain = httpx.get(
        base + "/v1/customers/1/orders", headers={"Accept-Encoding": "identity"}, timeout=30
    ).content
    decoders: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.decompress,
        "br": brotli.decompress,
        "zstd": zstandard.ZstdDecompressor().decompress,
    }
    rows = []
    for coding in CODINGS:
        with httpx.Client() as client:
            request = client.build_request(
                "GET", base + "/v1/customers/1/orders", headers={"Accept-Encoding": coding}
            )
            response = client.send(request, stream=True)
            body = b"".join(response.iter_raw())
            response.close()
        sent = response.headers.get("content-encoding", "identity")
        assert sent == coding, (sent, coding)
        assert (decoders[coding](body) if coding != "identity" else body) == plain
        cost = "-"
        if coding != "identity":
            codec, repeat = CODECS[coding], 500
            start = time.process_time()
            for _ in range(repeat):
                codec(plain)
            cost = f"{(time.process_time() - start) / repeat * 1e6:.0f}"
        miss = median([r[f"orders miss, {coding}"].rps for r in results])
        hit = median([r[f"orders hit, {coding}"].rps for r in results])
        identity_miss = median([r["orders miss, identity"].rps for r in results])
        rows.append(
            [
                coding,
                f"{len(body):,}",
                f"{len(body) / len(plain):.2f}",
                cost,
                f"{miss:,.0f} ({miss / identity_miss:.2f}x)",
                f"{hit:,.0f}",
            ]
        )
    header = ["coding", "answer bytes", "of identity", "CPU us/answer", "miss req/s", "hit req/s"]
    print(f"list-orders answer, {ORDERS} orders, {len(plain):,} bytes of JSON:")
    print(h.markdown_table(header, rows))


# -- memory and the large reply ---------------------------------------------------------------


def large_reply(base: str, pid: int, reply_bytes: int) -> None:
    """One large reply at a time through the 1-worker facade: MB/s of SOAP end to end, and
    how far each process's peak memory rose above where it stood before."""
    import httpx

    before = {p: h.memory_kib(p, "VmRSS") for p in h.process_tree(pid)}
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        response = httpx.get(
            base + "/v1/big/customers/1/orders", headers={"Accept-Encoding": "identity"}, timeout=60
        )
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text[:300]
    growth = max(h.memory_kib(p) - rss for p, rss in before.items()) * 1024
    best = min(timings)
    print(
        f"large reply: {reply_bytes / 1e6:.2f} MB of SOAP -> {len(response.content) / 1e6:.2f} MB "
        f"of JSON in {best * 1000:.0f} ms (best of 3): {reply_bytes / 1e6 / best:.1f} MB/s end "
        f"to end; peak memory rose by {growth / 1e6:.1f} MB in the process that grew most "
        f"({growth / reply_bytes:.1f}x the reply; target < 10x)"
    )


def peak_memory(pids: dict[str, int]) -> None:
    rows = []
    for name, pid in pids.items():
        tree = h.process_tree(pid)
        peaks = [h.memory_kib(p) for p in tree]
        rows.append([name, str(len(tree)), f"{sum(peaks) / 1024:.0f}", f"{max(peaks) / 1024:.0f}"])
    header = ["server", "processes", "peak RSS, sum MiB", "largest process MiB"]
    print(h.markdown_table(header, rows))


# -- the other benchmarks and the profile ------------------------------------------------------


def other_benchmark(script: str, *args: str) -> None:
    path = h.ROOT / "bench" / script
    if not path.exists():
        print(f"(bench/{script} is not there: skipped)")
        return
    print(f"$ PYTHONPATH=. python bench/{script} {' '.join(args)}".rstrip(), flush=True)
    env = {**os.environ, "PYTHONPATH": str(h.ROOT)}
    done = subprocess.run(
        [sys.executable, str(path), *args],
        cwd=h.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    print(done.stdout.rstrip())
    if done.returncode != 0:
        print(f"(exit {done.returncode}) {done.stderr.strip()[-1000:]}")


def profile(target: Target, pid: int, seconds: float) -> None:
    """py-spy on the facade process while wrk drives its miss path."""
    load = subprocess.Popen(
        [sys.executable, "-c", _LOAD, target.url, str(seconds + 4)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)
        stacks = _profile.record(pid, seconds)
    finally:
        h.stop(load)
    if isinstance(stacks, str):
        print(f"profile skipped: {stacks}")
        return
    found = _profile.summarise(stacks)
    print(f"py-spy, {found.samples:,} samples of the 1-worker facade under wrk -c64 (miss path)")

    def table(title: str, shares: list[tuple[str, float]]) -> None:
        rows = [[name, f"{share * 100:.1f} %"] for name, share in shares if share >= 0.005]
        print(h.markdown_table([title, "share of samples"], rows))

    table("component (innermost frame)", found.self_by_component)
    table("component (anywhere on the stack)", found.inclusive_by_component)
    table("function (innermost frame)", found.self_by_function)
    table("facade function (anywhere on the stack)", found.facade_steps)


_LOAD = (
    "import subprocess, sys\n"
    "subprocess.run(['wrk', '-t1', '-c64', f'-d{float(sys.argv[2]):g}s', sys.argv[1]],"
    " capture_output=True)\n"
)


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over every target")
    parser.add_argument("--quick", action="store_true", help="2 s runs, 1 round, no extras")
    parser.add_argument("--no-extras", action="store_true", help="skip the other benchmarks")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.no_extras = 2.0, 1, True
    _wrk.binary()
    h.stop_on_sigterm()
    h.raise_nofile()
    print(f"machine: {h.machine()}, {os.uname().machine}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as name, servers(Path(name)) as s:
        listed = targets(s)
        servers_by_target = {t.name: server_of(t.name, s) for t in listed}
        results = rounds(listed, servers_by_target, args.rounds, args.seconds)
        print(f"\nwrk -t1, {args.seconds:g} s per run, {args.rounds} rounds, medians:")
        print_runs(listed, results)
        print()
        print_ratios(results)
        print()
        compression(str(s["facade"]), results)
        print()
        pids: dict[str, int] = s["pids"]  # type: ignore[assignment]
        large_reply(str(s["facade"]), pids["facade, 1 worker"], int(s["big"]))  # type: ignore[call-overload]
        print()
        peak_memory(pids)
        print()
        miss = next(t for t in listed if t.name == "facade 1 worker, miss, c64")
        profile(miss, pids["facade, 1 worker"], max(10.0, args.seconds * 2))
    if not args.no_extras:
        print()
        other_benchmark("loop_stall.py", "--seconds", f"{max(5.0, args.seconds):g}")
        print()
        other_benchmark("translate_reply.py")
        print()
        other_benchmark("cache_hit.py")
    print(f"\nat the end: {h.machine()}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
