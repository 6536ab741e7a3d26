"""The `facade` command: serve, check, routes, status, mock, scaffold."""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import orjson
import typer

from facade import __version__
from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import read_mappings
from facade.observability import MULTIPROCESS_DIR_VARIABLE
from facade.openapi.document import openapi_document
from facade.routetable import CompiledRoute, RouteTable, build_route_table
from facade.routetable import warnings as route_warnings
from facade.scaffold import scaffold as scaffold_mappings
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

app = typer.Typer(
    help="A REST/JSON facade in front of legacy SOAP services.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

MappingsOption = Annotated[
    Path, typer.Option("--mappings", help="Folder of mapping files (*.yaml, searched recursively).")
]
WsdlOption = Annotated[Path, typer.Option("--wsdl", help="Folder of the WSDLs the mappings name.")]
NOTHING_TO_SERVE = (
    "has no mapping files, so there is nothing to serve: add some (`facade scaffold WSDL` "
    "writes a start), or mount your mappings/ and wsdl/ folders into the container"
)


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """A REST/JSON facade in front of legacy SOAP services."""
    if version:
        typer.echo(f"facade {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:  # a bare `facade` is a request for help, not an error
        typer.echo(ctx.get_help())
        raise typer.Exit()


def _table(mappings: Path, wsdl: Path, registry: WsdlRegistry | None = None) -> RouteTable:
    """The route table; or every problem found on the way to it, printed, and exit 1."""
    loaded = read_mappings(mappings)
    problems = list(loaded.problems)
    if not wsdl.is_dir():
        problems.append(ConfigProblem(str(wsdl), "", "the WSDL folder does not exist (see --wsdl)"))
        _report(problems)
        raise typer.Exit(1)
    registry = registry or WsdlRegistry(wsdl)
    try:
        table = build_route_table(loaded.routes, registry)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        _report(problems)
        raise typer.Exit(1)
    return table


def _report(problems: list[ConfigProblem]) -> None:
    for problem in problems:
        typer.secho(str(problem), err=True, fg=typer.colors.RED)
    count = len(problems)
    typer.secho(f"{count} problem{'s' if count != 1 else ''} found", err=True, bold=True)


@app.command()
def check(mappings: MappingsOption = Path("mappings"), wsdl: WsdlOption = Path("wsdl")) -> None:
    """Prove every mapping against its WSDL; print all problems and exit 1 if there are any.
    Warnings (allowed, but worth a second look) are printed too and do not fail the check."""
    table = _table(mappings, wsdl)
    for warning in route_warnings(route.mapping for route in table):
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)
    typer.echo(f"{len(table)} route{'s' if len(table) != 1 else ''} OK")


@app.command()
def routes(mappings: MappingsOption = Path("mappings"), wsdl: WsdlOption = Path("wsdl")) -> None:
    """List the routes: method, path, route name, operation, mode."""
    table = _table(mappings, wsdl)
    rows = [("METHOD", "PATH", "NAME", "OPERATION", "MODE")]
    for route in sorted(table, key=lambda r: (r.mapping.path, r.mapping.method)):
        operation = f"{route.mapping.legacy.wsdl}:{route.operation.name}"
        rows.append((route.mapping.method, route.mapping.path, route.name, operation, _mode(route)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _mode(route: CompiledRoute) -> str:
    """The route's mode, with its share of callers on new when it is a canary."""
    migration = route.mapping.migration
    return f"canary {migration.percent:g}%" if migration.mode == "canary" else migration.mode


@app.command()
def serve(
    mappings: MappingsOption = Path("mappings"),
    wsdl: WsdlOption = Path("wsdl"),
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            envvar="FACADE_WORKERS",
            help="Worker processes; each has its own cache and shadow records.",
            show_default="one per usable core",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Check the mappings, then serve them."""
    import uvicorn

    table = _table(mappings, wsdl)
    if not len(table):  # e.g. a container started without its mappings mounted
        _report([ConfigProblem(str(mappings), "", NOTHING_TO_SERVE)])
        raise typer.Exit(1)
    settings = Settings(mappings_dir=mappings, wsdl_dir=wsdl, log_level=log_level)
    os.environ.update(settings.to_env())
    workers = workers or usable_cores()
    plural = "s" if workers != 1 else ""
    typer.echo(
        f"serving {len(table)} routes on http://{host}:{port}, {workers} worker{plural}", err=True
    )
    with _shared_metrics(workers):
        uvicorn.run(
            "facade.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )


@app.command()
def status(
    url: Annotated[
        str, typer.Option(help="Base URL of the running facade.")
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="FACADE_ADMIN_TOKEN",
            help="The facade's admin token.",
            show_default=False,  # the env var line says where it comes from; never echo it
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the admin API's status document as JSON.")
    ] = False,
) -> None:
    """Show each route's mode, requests by side, fallbacks and shadow comparisons, read from
    a running facade's admin API (served when it has FACADE_ADMIN_TOKEN)."""
    from facade.admin.client import StatusError, fetch_status
    from facade.admin.table import status_lines

    try:
        document = fetch_status(url, token)
    except StatusError as exc:
        typer.secho(f"facade status: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    for line in status_lines(document):
        typer.echo(line)


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cores(cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may use: those it is pinned to, fewer when a container's CPU
    quota (cgroup v2 `cpu.max`, rounded up) allows less. One worker per core is the
    default: a worker is one event loop busy on CPU, so more workers than cores only take
    turns on them (bench/compare.py measures 2 workers against 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = cpu_max.read_text().split()[:2]
        allowed = cores if quota == "max" else math.ceil(int(quota) / int(period))
    except (OSError, ValueError, ZeroDivisionError):
        return cores
    return max(1, min(cores, allowed))


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh folder where they share metric values, removed at exit
    (one the operator set in the environment is used, and kept, as it is)."""
    if workers == 1 or os.environ.get(MULTIPROCESS_DIR_VARIABLE):
        yield
        return
    folder = tempfile.mkdtemp(prefix="facade-metrics-")
    os.environ[MULTIPROCESS_DIR_VARIABLE] = folder
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_DIR_VARIABLE]
        shutil.rmtree(folder, ignore_errors=True)


@app.command()
def mock(
    wsdl_file: Annotated[
        Path, typer.Argument(help="The WSDL to serve.", exists=True, dir_okay=False)
    ],
    handlers: Annotated[
        Path | None,
        typer.Option(
            help="Python file with one function per operation; others answer samples.",
            show_default="sample answers",
            exists=True,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8081,
) -> None:
    """Serve a WSDL's operations from Python handlers or sample data: a stand-in backend."""
    from facade.mock import mock_handlers, run_mock

    try:
        served, sources = mock_handlers(wsdl_file, handlers)
    except ConfigError as exc:
        _report(exc.problems)
        raise typer.Exit(1) from exc
    typer.echo(f"mock of {wsdl_file} on http://{host}:{port}/ (any path), operations:", err=True)
    width = max(map(len, sources))
    for name, source in sorted(sources.items()):
        typer.echo(f"  {name:<{width}}  {source}", err=True)
    run_mock(wsdl_file, served, host, port)


@app.command()
def openapi(mappings: MappingsOption = Path("mappings"), wsdl: WsdlOption = Path("wsdl")) -> None:
    """Print the OpenAPI 3.1 document of the routes, typed from the WSDLs."""
    registry = WsdlRegistry(wsdl)
    table = _table(mappings, wsdl, registry)
    document = openapi_document(table, table.contracts)
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())


@app.command()
def scaffold(
    wsdl_file: Annotated[Path, typer.Argument(help="The WSDL to write mappings for.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder for the mapping files.", show_default="mappings/<WSDL name>"
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Also overwrite mapping files that were edited.")
    ] = False,
    wsdl: Annotated[
        Path | None,
        typer.Option(
            "--wsdl",
            help="The WSDL folder `facade check` will use.",
            show_default="the WSDL file's folder",
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="Endpoint the routes call (e.g. where `facade mock` listens), written as "
            "${SERVICE_URL:-URL} in each mapping.",
            show_default="the WSDL's soap:address",
        ),
    ] = None,
) -> None:
    """Write one mapping file per SOAP operation of a WSDL, as a start to edit and check."""
    out = out if out is not None else Path("mappings") / wsdl_file.stem
    try:
        report = scaffold_mappings(wsdl_file, out, wsdl, force=force, address=address)
    except ConfigError as exc:
        _report(exc.problems)
        raise typer.Exit(1) from exc
    for note in report.notes:
        typer.echo(f"note: {note}", err=True)
    width = max((len(file.route) for file in report.files), default=0)
    for file in report.files:
        typer.echo(f"{file.status:<12} {file.method:<7} {file.route:<{width}}  {file.path}")
    typer.echo(report.summary())
    wsdl_dir = wsdl if wsdl is not None else wsdl_file.parent
    typer.echo(f"next: facade check --mappings {out} --wsdl {wsdl_dir}")
