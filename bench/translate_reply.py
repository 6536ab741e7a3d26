"""A large reply -> JSON in process: the zeep path against the compiled reader, in one run.

    PYTHONPATH=. .venv/bin/python bench/translate_reply.py [--records 5000] [--rounds 7]
    PYTHONPATH=. .venv/bin/python bench/translate_reply.py --coverage [WSDL_DIR ...]

The reply is the demo CRM's ListOrders answer made by the project's mock (5,000 orders, about
1.4 MB; `--records` changes the count). Both paths run `translate_reply` on the list-orders
route of `mappings/` (parse, fault check, read, JMESPath shaping) and encode the answer, as
the translator does; one differs from the other only in the route's compiled reader being
removed. The heap built so far is frozen out of the garbage collector's sweeps first, as
the translator process freezes its own once it has loaded (`facade.heap`). Rounds
alternate between the two paths; the median is shown, in ms and MB/s of
SOAP read per core, and as a multiple of the parse alone (lxml, the floor of any path: that
ratio moves less with the machine's load than the MB/s), then the peak memory each path
allocates (tracemalloc, a separate untimed round) as a multiple of the reply's size. The two
answers are compared byte for byte first.

`--coverage` prints instead, for every WSDL of the demo and of the shared corpus (or of the
folders given), how many of its operations the compiled reader reads and why zeep reads the
others.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import _harness as h

from facade import heap
from facade.backends.legacy_reply import translate_reply
from facade.errors import ConfigError
from facade.mapping.loader import load_mappings
from facade.net.seam import Reply
from facade.routetable import CompiledRoute, build_route_table
from facade.soap.loader import load_wsdl
from facade.soap.operations import resolve_operation, soap_operations
from facade.soap.registry import WsdlRegistry
from facade.translate.reader import Unsupported, compile_reader
from facade.translate.response import encode_json
from facade.translate.xml import parse_xml

ROUTE = "list-orders"


def list_orders_route() -> CompiledRoute:
    mappings = [m for m in load_mappings(h.ROOT / "mappings") if m.name == ROUTE]
    table = build_route_table(mappings, WsdlRegistry(Path(h.WSDL_DIR)))
    (route,) = [r for r in table.routes if r.name == ROUTE]
    if route.reader is None:
        sys.exit(f"the {ROUTE} route has no compiled reader")
    return route


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def peak_bytes(work: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def coverage(folders: list[Path]) -> None:
    """One row per WSDL: operations read by the compiled reader, and the others' reasons."""
    totals = Counter[str]()
    for path in sorted(p for folder in folders for p in folder.rglob("*.wsdl")):
        try:
            client = load_wsdl(path).client
        except ConfigError:
            print(f"{path}: not loaded by zeep")
            continue
        reasons = Counter[str]()
        names = soap_operations(client)
        for name, ports in names.items():
            operation = resolve_operation(
                client, name, service=ports[0].service, port=ports[0].port
            )
            try:
                compile_reader(operation, "string")
                totals["compiled reader"] += 1
            except Unsupported as exc:
                reasons[str(exc)] += 1
                totals["zeep"] += 1
        read = len(names) - sum(reasons.values())
        why = "; ".join(f"{n} x {reason}" for reason, n in reasons.items())
        print(
            f"{path}: {read}/{len(names)} by the compiled reader{', zeep: ' + why if why else ''}"
        )
    print(f"operations: {dict(totals)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--coverage", nargs="*", type=Path, metavar="WSDL_DIR")
    args = parser.parse_args()
    if args.coverage is not None:
        coverage(args.coverage or [h.WSDL_DIR, h.ROOT.parent / "shared" / "wsdl-corpus"])
        return

    content = h.list_orders_reply(args.records)
    reply = Reply(200, {"content-type": "text/xml; charset=utf-8"}, content)
    compiled = list_orders_route()
    heap.keep_settled()  # as the translator process does once it has loaded the routes
    paths: dict[str, Callable[[], bytes]] = {
        "zeep": lambda: encode_json(translate_reply(replace(compiled, reader=None), reply)),
        "compiled reader": lambda: encode_json(translate_reply(compiled, reply)),
    }
    answers = {name: work() for name, work in paths.items()}
    if len(set(answers.values())) != 1:
        sys.exit("the two paths answer differently")

    times: dict[str, list[float]] = {name: [] for name in [*paths, "lxml parse only"]}
    for _ in range(args.rounds):
        for name, work in paths.items():
            times[name].append(timed(work))
        times["lxml parse only"].append(timed(lambda: parse_xml(content)))

    size = len(content)
    print(f"reply: {args.records} records, {size / 1e6:.2f} MB; answer {len(answers['zeep']):,} B")
    print(f"{'path':<18} {'median ms':>10} {'MB/s':>8} {'x parse':>8} {'peak memory':>14}")
    medians = {name: statistics.median(values) for name, values in times.items()}
    parse = medians["lxml parse only"]
    for name, seconds in medians.items():
        peak = f"{peak_bytes(paths[name]) / size:.1f}x reply" if name in paths else ""
        print(
            f"{name:<18} {seconds * 1e3:>10.1f} {size / seconds / 1e6:>8.1f} "
            f"{seconds / parse:>8.1f} {peak:>14}"
        )
    print(f"compiled reader / zeep speed: {medians['zeep'] / medians['compiled reader']:.1f}x")


if __name__ == "__main__":
    main()
