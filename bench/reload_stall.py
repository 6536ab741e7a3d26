"""Does a hot reload stall requests? Small-request latency with and without reloads.

    PYTHONPATH=. .venv/bin/python bench/reload_stall.py [--seconds 10] [--every 1.0]

nginx serves a canned GetCustomer reply; the facade runs as a real process with
`--reload-mappings` over the repository's get-customer mapping pointed at nginx. Small-request
latency (16 callers on kept-alive connections, GET /v1/customers/1 in a loop) is measured
(a) alone and (b) while the mapping file is rewritten every `--every` seconds (its response
expression alternates), so that each rewrite is a reload: the WSDL compiled with zeep in a
thread, the configuration swapped. Errors must stay 0 in both phases; the ratio of the two
p99s is what a reload costs the requests served meanwhile.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import _harness as h
from loop_stall import SMALL_PATH, result_of, row, start_load

RESPONSES = ("Customer", "Customer.{Id: Id, Name: Name}")


def rewrite(file: Path, text: str, every: float, stop: threading.Event) -> None:
    turn = 0
    while not stop.wait(every):
        turn += 1
        response = RESPONSES[turn % len(RESPONSES)]
        file.write_text(text.replace("response: Customer", f'response: "{response}"'))


def reloads(base: str) -> str:
    import httpx

    lines = httpx.get(f"{base}/metrics", timeout=30).text.splitlines()
    counts = [line for line in lines if line.startswith("facade_reloads_total{")]
    return ", ".join(counts) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--small", type=int, default=16, help="small-request callers")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between rewrites")
    args = parser.parse_args()

    h.stop_on_sigterm()
    h.raise_nofile()
    print(h.machine())
    with (
        h.nginx({"/small": h.get_customer_reply()}) as server,
        tempfile.TemporaryDirectory(prefix="bench-reload-") as name,
    ):
        folder = Path(name)
        text = h.mapping_with_address("customers/get-customer.yaml", server.url("/small"))
        options = ("--reload-mappings",)
        with h.facade({"get-customer.yaml": text}, folder=folder, options=options) as base:
            alone = result_of(start_load(base + SMALL_PATH, args.small, args.seconds), args.seconds)
            stop = threading.Event()
            writer = threading.Thread(
                target=rewrite, args=(folder / "get-customer.yaml", text, args.every, stop)
            )
            writer.start()
            try:
                during = result_of(
                    start_load(base + SMALL_PATH, args.small, args.seconds), args.seconds
                )
            finally:
                stop.set()
                writer.join()
            time.sleep(1.0)
            counted = reloads(base)

    header = ["phase", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "errors"]
    print(
        h.markdown_table(
            header,
            [
                row(f"(a) {args.small} callers, no reload", alone),
                row(f"(b) {args.small} callers, a reload every {args.every:g} s", during),
            ],
        )
    )
    print(f"\nreloads: {counted}")
    p99a, p99b = float(alone["p99"]), float(during["p99"])  # type: ignore[arg-type]
    p50a, p50b = float(alone["p50"]), float(during["p50"])  # type: ignore[arg-type]
    print(f"p99(b) / p99(a) = {p99b / p99a:.1f}    p50(b) / p50(a) = {p50b / p50a:.1f}")
    print(f"at the end: {h.machine()}")


if __name__ == "__main__":
    main()
