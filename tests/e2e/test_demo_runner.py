"""`python -m demo` (what scripts/demo runs) notices a busy port or a dying child and says
which port and which flag, instead of trusting whoever answers its readiness checks."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType

import pytest
from processes import ROOT, free_port
from servers import serve_in_thread
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

pytestmark = pytest.mark.e2e


def _anything(request: object) -> PlainTextResponse:
    return PlainTextResponse("someone else's server")


@pytest.fixture(scope="module")
def stranger() -> Iterator[int]:
    """Another process's server on a port the demo wants: it answers 200 to every GET."""
    app = Starlette(routes=[Route("/{path:path}", _anything)])
    with serve_in_thread(app) as url:
        yield int(url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    """demo/__main__.py as a module (demo/ is not an installed package)."""
    spec = importlib.util.spec_from_file_location("demo_runner", ROOT / "demo" / "__main__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "demo", "--self-test", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


FLAGS = ("--port", "--mock-port", "--new-port")


@pytest.mark.parametrize("flag", FLAGS)
def test_busy_port_is_named_with_its_flag(stranger: int, flag: str) -> None:
    others = [arg for other in FLAGS if other != flag for arg in (other, str(free_port()))]
    result = _demo(flag, str(stranger), *others)
    assert result.returncode == 1
    assert f"port {stranger} is already in use" in result.stderr
    assert f"choose another with {flag} PORT" in result.stderr
    assert "ok " not in result.stdout


def _dead_child(runner: ModuleType, port: int) -> object:
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait(30)
    return runner.Child("the mock CRM", port, "--mock-port", process)


def test_readiness_from_a_stranger_does_not_count_when_our_child_died(
    runner: ModuleType, stranger: int
) -> None:
    child = _dead_child(runner, stranger)
    with pytest.raises(SystemExit) as stopped:
        runner.wait_until_up(f"http://127.0.0.1:{stranger}/crm?wsdl", child, [child])
    message = str(stopped.value.code)
    assert "the mock CRM stopped (exit code 3)" in message
    assert f"port {stranger} is taken: choose another with --mock-port PORT" in message


def test_watch_stops_when_a_child_exits(runner: ModuleType) -> None:
    child = _dead_child(runner, 8081)
    with pytest.raises(SystemExit, match="the mock CRM stopped"):
        runner.watch([child])


def test_a_child_that_never_answers_times_out(
    runner: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "STARTUP_SECONDS", 0.3)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    child = runner.Child("the facade", free_port(), "--port", process)
    try:
        with pytest.raises(SystemExit, match="the facade did not answer"):
            runner.wait_until_up(f"http://127.0.0.1:{child.port}/readyz", child, [child])
    finally:
        runner.stop([child])
    assert process.poll() is not None
