"""How far does a large reply raise the facade's memory? Peak RSS per process, per call.

    PYTHONPATH=. .venv/bin/python bench/large_reply.py [--calls 10] [--records 5000]
    PYTHONPATH=. .venv/bin/python bench/large_reply.py --root ../main --root .

nginx serves the demo CRM's ListOrders reply with 5,000 orders (about 1.4 MB, made by the
project's mock); the facade (1 worker, a real process) serves the list-orders mapping in
front of it. GET /v1/customers/1/orders is called `--calls` times, one at a time, without
compression. After each call, for the server process and for its translator process: how
far the peak resident memory (VmHWM) has risen above the resident memory (VmRSS) it had
before the first call, and the resident memory now, each in MB and as a multiple of the
reply's size. The first call shows a reply's own cost; the later ones whether replies
stack up in memory that is not given back. `--root DIR` (repeatable) runs the facade of
each checkout in turn (one before a change, one after) on the same reply.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import _harness as h

PATH = "/v1/customers/1/orders"


def role(pid: int) -> str:
    """`server`, `translator`, or the short command of another process of the tree."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
    if "-m facade serve" in command:
        return "server"
    if "multiprocessing.spawn" in command:
        return "translator"
    return "other"


def measure(root: Path, mappings: dict[str, str], calls: int, reply_bytes: int) -> None:
    import httpx

    with h.facade_process(mappings, root=root) as (base, proc):
        time.sleep(1.0)  # the translator process has loaded by /readyz; let it settle
        roles = {p: role(p) for p in h.process_tree(proc.pid)}
        tree = [p for p, name in roles.items() if name in ("server", "translator")]
        before = {p: h.memory_kib(p, "VmRSS") for p in tree}
        rows = []
        for call in range(1, calls + 1):
            response = httpx.get(base + PATH, headers={"Accept-Encoding": "identity"}, timeout=60)
            if response.status_code != 200:
                raise SystemExit(f"{PATH} answered {response.status_code}: {response.text[:300]}")
            row = [str(call)]
            for pid in tree:
                peak = (h.memory_kib(pid) - before[pid]) * 1024
                now = (h.memory_kib(pid, "VmRSS") - before[pid]) * 1024
                row.append(f"{peak / 1e6:.1f} ({peak / reply_bytes:.1f}x)")
                row.append(f"{now / 1e6:.1f}")
            rows.append(row)
    header = ["call"]
    for pid in tree:
        header += [f"{roles[pid]}: peak rise MB", "now MB"]
    print(f"{root}: {len(response.content):,} bytes of JSON per answer")
    print(h.markdown_table(header, rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=10, help="large replies, one at a time")
    parser.add_argument("--records", type=int, default=5_000, help="orders in the reply")
    parser.add_argument(
        "--root", type=Path, action="append", default=[], help="checkout to run (repeatable)"
    )
    args = parser.parse_args()
    h.stop_on_sigterm()
    print(h.machine())
    reply = h.list_orders_reply(args.records)
    print(f"SOAP reply: {args.records:,} orders, {len(reply):,} bytes\n")
    with h.nginx({"/big": reply}) as server:
        mappings = {
            "list-orders.yaml": h.mapping_with_address(
                "orders/list-orders.yaml", server.url("/big")
            )
        }
        for root in args.root or [h.ROOT]:
            measure(root.resolve(), mappings, args.calls, len(reply))
            print()
    print(f"at the end: {h.machine()}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
