"""Scaffold every WSDL of a corpus and time what a user waits for, file by file.

    .venv/bin/python bench/scaffold_corpus.py [CORPUS_DIR]

For each *.wsdl (sorted by path): `facade scaffold` into a temporary folder, the check
`facade check` runs (load the mappings, compile the route table), the app build (contracts
and OpenAPI document included) and the OpenAPI document fetched from the app. That work is
timed; validating the document against the OpenAPI 3.1 schema is not, it only decides the
result column.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import openapi_spec_validator
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from facade.app import create_app
from facade.errors import ConfigError
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.scaffold import WRITTEN, scaffold
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "wsdl-corpus"

# message fragment -> the error kind shown in the result column
ERROR_KINDS = (
    ("is a WSDL 2.0 document", "error: WSDL 2.0"),
    ("has no SOAP operations", "error: no SOAP operations"),
    ("is not fetched from the network", "error: remote import"),
    ("cannot be loaded", "error: cannot be loaded"),
)


@dataclass(frozen=True)
class Row:
    file: str
    operations: int | None
    routes: int | None
    result: str
    seconds: float


def error_kind(exc: ConfigError) -> str:
    text = str(exc)
    return next((kind for fragment, kind in ERROR_KINDS if fragment in text), "error: config")


def measure(wsdl_file: Path, corpus: Path, scratch: Path) -> Row:
    name = wsdl_file.relative_to(corpus).as_posix()
    out = scratch / "mappings"
    started = time.perf_counter()
    try:
        report = scaffold(wsdl_file, out, wsdl_file.parent)
        registry = WsdlRegistry(wsdl_file.parent)
        table = build_route_table(load_mappings(out), registry)
        document = create_app(table, registry).openapi()
    except ConfigError as exc:
        return Row(name, None, None, error_kind(exc), time.perf_counter() - started)
    seconds = time.perf_counter() - started
    operations = len(report.files) + report.skipped
    try:
        openapi_spec_validator.validate(document)
    except OpenAPIValidationError as exc:
        return Row(name, operations, report.count(WRITTEN), f"invalid OpenAPI: {exc}", seconds)
    return Row(name, operations, report.count(WRITTEN), "ok", seconds)


def table(rows: list[Row]) -> list[str]:
    def count(value: int | None) -> str:
        return "-" if value is None else str(value)

    total_routes = sum(row.routes or 0 for row in rows)
    total_operations = sum(row.operations or 0 for row in rows)
    ok = sum(row.result == "ok" for row in rows)
    cells = [("file", "operations", "routes", "result", "seconds")]
    cells += [
        (row.file, count(row.operations), count(row.routes), row.result, f"{row.seconds:.3f}")
        for row in rows
    ]
    summary = f"{ok} ok, {len(rows) - ok} errors"
    seconds = f"{sum(row.seconds for row in rows):.3f}"
    cells.append((f"total ({len(rows)} files)", str(total_operations), str(total_routes)))
    cells[-1] += (summary, seconds)
    widths = [max(len(line[i]) for line in cells) for i in range(5)]
    right = (False, True, True, False, True)
    lines = []
    for index, line in enumerate(cells):
        if index in (1, len(cells) - 1):
            lines.append("  ".join("-" * width for width in widths))
        padded = [
            cell.rjust(width) if align else cell.ljust(width)
            for cell, width, align in zip(line, widths, right, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "corpus",
        nargs="?",
        type=Path,
        default=DEFAULT_CORPUS,
        help=f"folder searched recursively for *.wsdl [default: {DEFAULT_CORPUS}]",
    )
    args = parser.parse_args(argv)
    corpus: Path = args.corpus
    files = sorted(corpus.rglob("*.wsdl"))
    if not files:
        print(f"no *.wsdl under {corpus}", file=sys.stderr)
        return 1
    rows = []
    for wsdl_file in files:
        with tempfile.TemporaryDirectory() as scratch:
            rows.append(measure(wsdl_file, corpus, Path(scratch)))
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
