"""The `facade` commands that read mappings: check, routes, openapi, and serve's refusal;
help, version and completion."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from typer.testing import CliRunner

from facade import __version__, supervisor
from facade.cli import app, usable_cores
from facade.observability import MULTIPROCESS_DIR_VARIABLE

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def one_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """`facade serve` runs one worker per core unless told: these tests stub one worker's
    server (a test of the default removes this)."""
    monkeypatch.setenv("FACADE_WORKERS", "1")


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


def test_openapi_with_the_settings_file_documents_its_security(
    runner: CliRunner, tmp_path: Path
) -> None:
    config = tmp_path / "facade.yaml"
    key = {"name": "reporting", "sha256": "a" * 64, "scopes": ["customers:read"]}
    config.write_text(
        json.dumps({"auth": {"default": {"scopes": []}, "api_keys": {"keys": [key]}}})
    )
    result = runner.invoke(app, [*_args("openapi"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    validate(document)
    assert set(document["components"]["securitySchemes"]) == {"apiKey"}
    assert document["paths"]["/v1/orders/{id}"]["get"]["security"] == [{"apiKey": []}]


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


def test_shell_completion_script(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import shellingham

    # the script is for the shell the command runs in: the test says which, so it does not
    # depend on what started the test run (a job control shell, a CI runner, sh)
    monkeypatch.setattr(shellingham, "detect_shell", lambda: ("bash", "/bin/bash"))
    result = runner.invoke(app, ["--show-completion"], prog_name="facade")
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
    monkeypatch.setattr(supervisor, "serve_workers", run)
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
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("one worker?"))
    monkeypatch.setattr(supervisor, "serve_workers", lambda config: None)
    result = runner.invoke(app, [*_args("serve"), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert tmp_path.is_dir() and os.environ[MULTIPROCESS_DIR_VARIABLE] == str(tmp_path)


@pytest.mark.parametrize("flag", [[], ["--reload-mappings"]])
def test_serve_passes_the_reload_choice_to_every_worker(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, flag: list[str]
) -> None:
    """Workers read their settings from the environment: watching is on only when asked."""
    seen: list[tuple[int, str | None]] = []

    def serve_workers(config: Any) -> None:
        seen.append((config.workers, os.environ.get("FACADE_RELOAD_MAPPINGS")))

    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setattr(supervisor, "serve_workers", serve_workers)
    result = runner.invoke(app, [*_args("serve"), "--workers", "2", *flag])
    assert result.exit_code == 0, result.output
    assert seen == [(2, "1" if flag else "0")]


def test_serve_refuses_an_empty_mappings_folder(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("must not serve"))
    result = runner.invoke(app, _args("serve", tmp_path))
    assert result.exit_code == 1
    assert f"{tmp_path}: has no mapping files, so there is nothing to serve" in result.output


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_gives_several_workers_a_private_state_file_it_removes(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """One worker keeps its flags in memory; several share a file made for the run."""
    import uvicorn

    seen: list[str | None] = []
    monkeypatch.setattr(os, "environ", os.environ.copy())
    os.environ.pop("FACADE_STATE", None)

    def record(*args: object, **kwargs: object) -> None:
        seen.append(os.environ.get("FACADE_STATE"))

    monkeypatch.setattr(uvicorn, "run", record)  # one worker
    monkeypatch.setattr(supervisor, "serve_workers", record)  # several
    result = runner.invoke(app, [*_args("serve"), "--workers", str(workers)])
    assert result.exit_code == 0, result.output
    [state] = seen
    assert (state is None) is (workers == 1)
    assert state is None or (state.endswith("flags.json") and not Path(state).parent.exists())


def test_serve_keeps_the_state_file_the_operator_names(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    seen: list[tuple[str | None, str | None]] = []

    def run(*args: object, **kwargs: object) -> None:
        seen.append((os.environ.get("FACADE_STATE"), os.environ.get("FACADE_AUDIT")))

    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setattr(supervisor, "serve_workers", run)
    state, audit = tmp_path / "flags.json", tmp_path / "audit.jsonl"
    args = [*_args("serve"), "--workers", "2", "--state", str(state), "--audit", str(audit)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen == [(str(state), str(audit))]


def test_serve_refuses_admin_tokens_without_names(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(os, "environ", {**os.environ, "FACADE_ADMIN_TOKENS": "just-a-token"})
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("must not serve"))
    result = runner.invoke(app, _args("serve"))
    assert result.exit_code == 1
    assert "facade serve: admin tokens are written name=token" in result.output


def test_serve_with_an_audit_file_and_no_state_still_writes_the_audit(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import uvicorn

    seen: list[str | None] = []
    monkeypatch.setattr(os, "environ", os.environ.copy())
    os.environ.pop("FACADE_STATE", None)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: seen.append(os.environ.get("FACADE_STATE")))
    result = runner.invoke(app, [*_args("serve"), "--audit", str(tmp_path / "audit.jsonl")])
    assert result.exit_code == 0, result.output
    [state] = seen
    assert state is not None and state.endswith("flags.json")


def test_serve_keeps_settings_from_the_environment_and_gives_the_grace_to_uvicorn(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    given: dict[str, object] = {}
    env = {"FACADE_BACKEND_LIMITS": "http://erp:8080=4", "FACADE_SHUTDOWN_SECONDS": "7"}
    monkeypatch.setattr(os, "environ", {**os.environ, **env})
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: given.update(kwargs))
    result = runner.invoke(app, _args("serve"))
    assert result.exit_code == 0, result.output
    assert given["timeout_graceful_shutdown"] == 7
    assert os.environ["FACADE_BACKEND_LIMITS"] == "http://erp:8080=4"  # for the workers


def test_serve_refuses_a_setting_that_cannot_work(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(os, "environ", {**os.environ, "FACADE_BREAKER": "maybe"})
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: pytest.fail("must not serve"))
    result = runner.invoke(app, _args("serve"))
    assert result.exit_code == 1
    assert "FACADE_BREAKER must be on or off" in result.output
    assert "Traceback" not in result.output


def test_check_proves_the_settings_file_too(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "facade.yaml"
    config.write_text("rate_limits:\n  default: {rate: 5, burst: 10}\n")
    result = runner.invoke(app, [*_args("check"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert f"{config} OK" in result.output


def test_check_reports_the_settings_files_problems_with_field(
    runner: CliRunner, tmp_path: Path
) -> None:
    config = tmp_path / "facade.yaml"
    config.write_text(
        "auth: {jwt: {jwks_url: 'https://id.example/jwks', algorithms: [HS256]}}\n"
        "rate_limits: {routes: {get-custmer: 'off'}}\n"
    )
    result = runner.invoke(app, [*_args("check"), "--config", str(config)])
    assert result.exit_code == 1
    assert f"{config}: auth.jwt.algorithms: 'HS256' is refused" in result.output
    config.write_text("rate_limits: {routes: {get-custmer: 'off'}}\n")
    result = runner.invoke(app, [*_args("check"), "--config", str(config)])
    assert result.exit_code == 1
    assert f"{config}: rate_limits.routes.get-custmer: no route is named" in result.output


def test_the_settings_file_comes_from_facade_config(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACADE_CONFIG", str(tmp_path / "absent.yaml"))
    result = runner.invoke(app, _args("check"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'absent.yaml'}: does not exist (see --config)" in result.output


def test_serve_refuses_a_bad_settings_file_before_starting(
    runner: CliRunner, tmp_path: Path
) -> None:
    config = tmp_path / "facade.yaml"
    config.write_text("limits: {max_headers: 0}\n")
    result = runner.invoke(app, [*_args("serve"), "--config", str(config)])
    assert result.exit_code == 1
    assert f"{config}: limits.max_headers: Input should be greater than or equal to 1" in (
        result.output
    )


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
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.update(workers=1))
    monkeypatch.setattr(
        supervisor, "serve_workers", lambda config: seen.update(workers=config.workers)
    )
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
