"""The facade's server protocol against stock uvicorn's, with nothing else in the way.

    PYTHONPATH=. .venv/bin/python bench/server_protocol.py [--rounds 5] [--seconds 3]

One plain ASGI app (no framework) answers every GET with a 319-byte JSON body and the nine
headers of a facade cache hit. It runs twice, each under uvicorn as `facade serve` starts it
(one worker, access log off): once with uvicorn's httptools protocol, once with
facade/protocol.py's, which sends a head and its body in one write. wrk drives the two in
alternating rounds; the table shows the median round's req/s and the server's CPU (user and
system) per answer, which stays put on a shared machine when req/s does not.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

import _harness as h
from cache_hit import measured

BODY = b'{"Id":1,"Name":"Ada Lovelace","Tags":["vip"]}'.ljust(319)
HEADERS = [
    (b"x-facade-cache", b"hit"),
    (b"etag", b'"ae56732a908976faf10244a032db7849"'),
    (b"age", b"0"),
    (b"cache-control", b"max-age=3599"),
    (b"x-facade-backend", b"legacy"),
    (b"x-request-id", b"f7f8502247336471702fc8d0e6c130de"),
    (b"content-length", str(len(BODY)).encode()),
    (b"content-type", b"application/json"),
]


async def app(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": BODY})  # type: ignore[operator]


def serve(port: int, protocol: str) -> None:
    import uvicorn

    from facade.protocol import HttpProtocol

    http = HttpProtocol if protocol == "facade" else "httptools"
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
        http=http,
    )


@contextlib.contextmanager
def started(protocol: str) -> Iterator[tuple[int, str]]:
    port = h.free_port()
    args = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), protocol]
    with h.server(args, port, f"the app under {protocol}") as proc:
        yield proc.pid, f"http://127.0.0.1:{port}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(int(args.serve[0]), args.serve[1])
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    h.stop_on_sigterm()
    h.raise_nofile()
    runs: dict[str, list[tuple[float, float]]] = {"uvicorn": [], "facade": []}
    with started("uvicorn") as stock, started("facade") as ours:
        targets = {"uvicorn": stock, "facade": ours}
        for index in range(args.rounds):
            print(f"round {index + 1}/{args.rounds}", file=sys.stderr, flush=True)
            for name, (pid, url) in targets.items():
                run = measured(pid, url, args.seconds, args.connections, None)
                runs[name].append((run.requests_per_second, run.cpu_us))
    report(runs, args)


def report(runs: dict[str, list[tuple[float, float]]], args: argparse.Namespace) -> None:
    print(f"\n{args.rounds} rounds x {args.seconds} s, wrk -t1 -c{args.connections}; {h.machine()}")
    rows = []
    for name, results in runs.items():
        rates = [rate for rate, _ in results]
        cpu = statistics.median(cpu for _, cpu in results)
        rows.append([name, f"{statistics.median(rates):,.0f}", f"{cpu:.1f}"])
    print(h.markdown_table(["protocol", "req/s (median)", "server CPU us/answer"], rows))
    pairs = zip(runs["uvicorn"], runs["facade"], strict=True)
    ratios = [ours[1] / stock[1] for stock, ours in pairs]
    print("facade / uvicorn CPU per answer, per round:", ", ".join(f"{r:.2f}" for r in ratios))
    print(f"median: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
