"""The `facade` command: serve, check, routes, status, flags, cache purge, mock, scaffold."""

from __future__ import annotations

import math
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from facade import __version__
from facade.admin.commands import flags_app
from facade.config.loader import FacadeConfig, config_path, config_problems, load_config
from facade.errors import ConfigError, ConfigProblem
from facade.observability import MULTIPROCESS_DIR_VARIABLE
from facade.openapi.document import openapi_document
from facade.routetable import CompiledRoute, RouteTable
from facade.routetable import warnings as route_warnings
from facade.scaffold import scaffold as scaffold_mappings
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry
from facade.sources import compile_folders

app = typer.Typer(
    help="A REST/JSON facade in front of legacy SOAP services.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.add_typer(flags_app, name="flags")

MappingsOption = Annotated[
    Path, typer.Option("--mappings", help="Folder of mapping files (*.yaml, searched recursively).")
]
WsdlOption = Annotated[Path, typer.Option("--wsdl", help="Folder of the WSDLs the mappings name.")]
APP_FACTORY = "facade.app:app_from_env"
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help=(
            "Settings file (authentication, rate limits, limits, legacy credentials per "
            "WSDL); default $FACADE_CONFIG."
        ),
        show_default="none",
    ),
]
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


def _table(
    mappings: Path,
    wsdl: Path,
    registry: WsdlRegistry | None = None,
    config: FacadeConfig | None = None,
) -> RouteTable:
    """The route table (with the settings file's per-WSDL credentials); or every problem
    found on the way to it, printed, and exit 1."""
    try:
        return compile_folders(mappings, wsdl, registry, config)
    except ConfigError as exc:
        _report(exc.problems)
        raise typer.Exit(1) from exc


def _config(given: Path | None) -> tuple[Path | None, FacadeConfig]:
    """The settings file and its values; or its problems, printed, and exit 1."""
    path = config_path(given)
    try:
        return path, load_config(path)
    except ConfigError as exc:
        _report(exc.problems)
        raise typer.Exit(1) from exc


def _prove(config: FacadeConfig, table: RouteTable) -> None:
    """The settings file against the routes; its problems printed, and exit 1."""
    problems = config_problems(config, (route.mapping for route in table))
    if problems:
        _report(problems)
        raise typer.Exit(1)


def _report(problems: list[ConfigProblem]) -> None:
    for problem in problems:
        typer.secho(str(problem), err=True, fg=typer.colors.RED)
    count = len(problems)
    typer.secho(f"{count} problem{'s' if count != 1 else ''} found", err=True, bold=True)


@app.command()
def check(
    mappings: MappingsOption = Path("mappings"),
    wsdl: WsdlOption = Path("wsdl"),
    config: ConfigOption = None,
) -> None:
    """Prove every mapping against its WSDL, and the settings file against the mappings;
    print all problems and exit 1 if there are any. Warnings (allowed, but worth a second
    look) are printed too and do not fail the check."""
    path, values = _config(config)
    table = _table(mappings, wsdl, config=values)
    _prove(values, table)
    for warning in route_warnings(route.mapping for route in table):
        typer.secho(f"warning: {warning}", err=True, fg=typer.colors.YELLOW)
    typer.echo(f"{len(table)} route{'s' if len(table) != 1 else ''} OK")
    if path is not None:
        typer.echo(f"{path} OK")


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
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            envvar="FACADE_STATE",
            help="File of the run-time flags: shared by the workers, kept across restarts.",
            show_default="in-process (a temporary file with several workers)",
        ),
    ] = None,
    audit: Annotated[
        Path | None,
        typer.Option(
            "--audit",
            envvar="FACADE_AUDIT",
            help="Append-only audit of flips (JSON lines).",
            show_default="next to the state file",
        ),
    ] = None,
    reload_mappings: Annotated[
        bool,
        typer.Option(
            "--reload-mappings",
            help="Reload when a mapping or WSDL file changes (SIGHUP always reloads).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Check the mappings and the settings file, then serve them. SIGHUP reloads the
    mappings and WSDLs without a restart; a broken edit is reported and the previous
    configuration keeps serving."""
    import uvicorn

    from facade.protocol import HttpProtocol
    from facade.supervisor import serve_workers

    path, values = _config(config)
    table = _table(mappings, wsdl, config=values)
    if not len(table):  # e.g. a container started without its mappings mounted
        _report([ConfigProblem(str(mappings), "", NOTHING_TO_SERVE)])
        raise typer.Exit(1)
    _prove(values, table)
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        typer.secho(f"facade serve: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    settings = replace(
        settings,
        mappings_dir=mappings,
        wsdl_dir=wsdl,
        log_level=log_level,
        audit_path=audit,
        reload_mappings=reload_mappings,
        config_file=path,
    )
    workers = workers or usable_cores()
    plural = "s" if workers != 1 else ""
    typer.echo(
        f"serving {len(table)} routes on http://{host}:{port}, {workers} worker{plural}", err=True
    )
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a reload asked for before the app listens
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "server_header": False,  # names no server software to clients, and is one header less
        "http": HttpProtocol,  # a head leaves in one write with its body (facade/protocol.py)
        # the caller is the connection's peer: X-Forwarded-For is never read, not even from
        # the loopback address uvicorn would otherwise trust as a proxy
        "proxy_headers": False,
        # on SIGTERM, requests in flight get this long; then shadows drain (app lifespan)
        "timeout_graceful_shutdown": math.ceil(settings.shutdown_seconds),
        # h11's own bound on a request head; the facade counts fields and bytes itself
        "h11_max_incomplete_event_size": values.limits.max_header_bytes + 1024,
    }
    with _shared_metrics(workers), _shared_state(workers, state, audit) as state_path:
        os.environ.update(replace(settings, state_path=state_path).to_env())
        if workers == 1:
            uvicorn.run(APP_FACTORY, **options)
        else:  # SIGHUP reaches every worker (see facade/supervisor.py)
            serve_workers(uvicorn.Config(APP_FACTORY, workers=workers, **options))


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


cache_app = typer.Typer(help="The response cache of a running facade (admin API).")
app.add_typer(cache_app, name="cache")


@cache_app.command("purge")
def cache_purge(
    route: Annotated[str, typer.Argument(help="Name of the cached route.")],
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="NAME=VALUE: only entries whose path or query parameter has this value "
            "(repeatable).",
        ),
    ] = None,
    url: Annotated[
        str, typer.Option(help="Base URL of the running facade.")
    ] = "http://127.0.0.1:8080",
    token: Annotated[
        str | None,
        typer.Option(
            envvar="FACADE_ADMIN_TOKEN", help="The facade's admin token.", show_default=False
        ),
    ] = None,
) -> None:
    """Drop a route's cached answers in a running facade (served when it has
    FACADE_ADMIN_TOKEN); with several workers, every worker drops them."""
    from facade.admin.client import StatusError, purge_cache

    params = {}
    for item in param or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"{item!r} is not NAME=VALUE", param_hint="--param")
        params[name] = value
    try:
        result = purge_cache(url, token, route, params)
    except StatusError as exc:
        typer.secho(f"facade cache purge: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc
    purged = result["purged"]
    noun = "entry" if purged == 1 else "entries"
    typer.echo(f"purged {purged} {noun} of {route} ({result.get('scope', 'this worker')})")


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


@contextmanager
def _shared_state(workers: int, state: Path | None, audit: Path | None) -> Iterator[Path | None]:
    """The state file the workers share: the operator's, or with several workers (or an
    audit file to write) and none given, a private one for this run, removed at exit."""
    if state is not None or (workers == 1 and audit is None):
        yield state
        return
    folder = tempfile.mkdtemp(prefix="facade-state-")
    try:
        yield Path(folder) / "flags.json"
    finally:
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
def openapi(
    mappings: MappingsOption = Path("mappings"),
    wsdl: WsdlOption = Path("wsdl"),
    config: ConfigOption = None,
) -> None:
    """Print the OpenAPI 3.1 document of the routes, typed from the WSDLs; with a settings
    file, the security and rate limits `facade serve` would apply, as /openapi.json says."""
    _, values = _config(config)
    registry = WsdlRegistry(wsdl)
    table = _table(mappings, wsdl, registry, values)
    _prove(values, table)
    document = openapi_document(table, table.contracts, config=values)
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
