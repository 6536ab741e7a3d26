"""The `facade` commands that read mappings: check, routes, openapi, and serve's refusal;
help, version and completion."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from typer.testing import CliRunner

from facade import __version__
from facade.cli import app, usable_cores
from facade.observability import MULTIPROCESS_DIR_VARIABLE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _args(command: str, mappings: Path = ROOT / "mappings") -> list[str]:
    return [command, "--mappings", str(mappings), "--wsdl", str(ROOT / "wsdl")]


def test_check_passes_on_the_shipped_mappings(runner: CliRunner) -> None:
    result = runner.invoke(app, _args("check"))
    assert result.exit_code == 0, result.output
    assert "7 routes OK" in result.output


def test_check_lists_every_problem_with_file_and_field(runner: CliRunner, tmp_path: Path) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(ROOT / "mappings", mappings)
    broken = mappings / "customers" / "get-customer.yaml"
    broken.write_text(broken.read_text().replace("GetCustomer", "GetCustmer"))
    (mappings / "orders" / "typo.yaml").write_text(
        "route: {method: GET, path: /v1/typo}\nlegacy: {wsdl: crm.wsdl, operation: GetOrder, "
        "request: {OrderID: path.id}}\n"
    )
    result = runner.invoke(app, _args("check", mappings))
    assert result.exit_code == 1
    output = result.output
    assert (
        f"{broken}: legacy.operation: operation 'GetCustmer' is not in the WSDL "
        "(did you mean 'GetCustomer'?)" in output
    )
    assert "typo.yaml: legacy.request.OrderID: 'OrderID' is not an argument of GetOrder" in output
    assert "did you mean 'OrderId'?" in output
    assert "problems found" in output


def test_routes_prints_a_table(runner: CliRunner) -> None:
    result = runner.invoke(app, _args("routes"))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "NAME", "OPERATION", "MODE"]
    assert any(
        line.split()
        == ["GET", "/v1/customers/{id}", "get-customer", "crm.wsdl:GetCustomer", "legacy"]
        for line in lines
    )


def test_openapi_prints_a_valid_document(runner: CliRunner) -> None:
    result = runner.invoke(app, _args("openapi"))
    assert result.exit_code == 0
    document = json.loads(result.output)
    validate(document)
    assert "/v1/orders/{id}" in document["paths"]


def test_commands_refuse_a_broken_set(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("route: [\n")
    for command in ("routes", "openapi", "serve"):
        result = runner.invoke(app, _args(command, tmp_path))
        assert result.exit_code == 1, command
        assert "bad.yaml: is not valid YAML" in result.output


def test_bare_facade_prints_help_and_succeeds(runner: CliRunner) -> None:
    result = runner.invoke(app, [], prog_name="facade")
    assert result.exit_code == 0
    assert "Usage: facade" in result.output and "scaffold" in result.output


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"facade {__version__}"


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_short_and_long_help(runner: CliRunner, flag: str) -> None:
    result = runner.invoke(app, ["check", flag])
    assert result.exit_code == 0
    assert "--mappings" in result.output


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("scaffold", "[default: (mappings/<WSDL name>)]"),
        ("scaffold", "[default: (the WSDL file's folder)]"),
        ("mock", "[default: (sample answers)]"),
        ("check", "[default: mappings]"),
    ],
)
def test_help_keeps_its_defaults(runner: CliRunner, command: str, shown: str) -> None:
    result = runner.invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert shown in result.output


def test_shell_completion_script(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--show-completion", "bash"], prog_name="facade")
    assert result.exit_code == 0
    assert "complete" in result.output and "_FACADE_COMPLETE" in result.output


def test_check_names_a_missing_wsdl_folder(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "wsdl"
    result = runner.invoke(
        app, ["check", "--mappings", str(ROOT / "mappings"), "--wsdl", str(missing)]
    )
    assert result.exit_code == 1
    assert f"{missing}: the WSDL folder does not exist (see --wsdl)" in result.output
    assert "is not a file in" not in result.output


@pytest.mark.parametrize("workers", [1, 3])
def test_serve_with_workers_shares_metrics_in_a_folder_it_removes(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    import uvicorn

    seen: list[str | None] = []

    def run(*args: object, **kwargs: object) -> None:
        folder = os.environ.get(MULTIPROCESS_DIR_VARIABLE)
        seen.append(folder)
        assert folder is None or Path(folder).is_dir()

    monkeypatch.setattr(os, "environ", os.environ.copy())  # serve sets FACADE_* variables
    os.environ.pop(MULTIPROCESS_DIR_VARIABLE, None)
    monkeypatch.setattr(uvicorn, "run", run)
    result = runner.invoke(app, [*_args("serve"), "--workers", str(workers)])
    assert result.exit_code == 0, result.output
    [folder] = seen
    assert (folder is None) is (workers == 1)
    assert folder is None or not Path(folder).exists()
    assert MULTIPROCESS_DIR_VARIABLE not in os.environ


def test_serve_keeps_a_metrics_folder_the_operator_set(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    monkeypatch.setattr(os, "environ", {**os.environ, MULTIPROCESS_DIR_VARIABLE: str(tmp_path)})
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    result = runner.invoke(app, [*_args("serve"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert tmp_path.is_dir() and os.environ[MULTIPROCESS_DIR_VARIABLE] == str(tmp_path)


def test_serve_refuses_an_empty_mappings_folder(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("must not serve"))
    result = runner.invoke(app, _args("serve", tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path}: has no mapping files, so there is nothing to serve" in result.output


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        (None, "cores"),
        ("max 100000", "cores"),
        ("100000 100000", 1),
        ("50000 100000", 1),
        ("150000 100000", 2),
        ("10000000 100000", "cores"),
        ("garbage", "cores"),
        ("100 0", "cores"),
    ],
)
def test_usable_cores_follow_the_container_quota(
    tmp_path: Path, cpu_max: str | None, expected: int | str
) -> None:
    cores = len(os.sched_getaffinity(0))
    path = tmp_path / "cpu.max"
    if cpu_max is not None:
        path.write_text(cpu_max + "\n")
    wanted = cores if expected == "cores" else min(cores, int(expected))
    assert usable_cores(path) == wanted


def _served_workers(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, *args: str) -> object:
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(kw))
    result = runner.invoke(app, [*_args("serve"), *args])
    assert result.exit_code == 0, result.output
    return seen["workers"]


def test_serve_runs_one_worker_per_usable_core_by_default(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACADE_WORKERS", raising=False)
    assert _served_workers(runner, monkeypatch) == usable_cores()
    monkeypatch.setenv("FACADE_WORKERS", "3")
    assert _served_workers(runner, monkeypatch) == 3
    assert _served_workers(runner, monkeypatch, "--workers", "1") == 1


def test_serve_refuses_zero_workers(runner: CliRunner) -> None:
    result = runner.invoke(app, [*_args("serve"), "--workers", "0"])
    assert result.exit_code == 2
    assert "--workers" in result.output
