"""Test-wide rules: no network beyond loopback, and the helpers in tests/ importable."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
CORPUS = ROOT.parent / "shared" / "wsdl-corpus"
sys.path.insert(0, str(TESTS))
# `facade serve` runs one worker per core unless told; every process a test starts serves
# with one unless the test asks for more (`--workers 2`), so counts stay per process and
# the suite does not start twice the processes it needs
os.environ.setdefault("FACADE_WORKERS", "1")


def wsdl_files() -> list[Path]:
    """The demo's WSDLs and, where the shared corpus is beside the repository, its WSDLs:
    what the property tests of the compiled pieces run over."""
    files = sorted((ROOT / "wsdl").glob("*.wsdl"))
    if CORPUS.is_dir():
        files += sorted(CORPUS.rglob("*.wsdl"))
    return files


def wsdl_label(path: Path) -> str:
    """A WSDL's test id: its path in the corpus, or its file name."""
    return str(path.relative_to(CORPUS)) if path.is_relative_to(CORPUS) else path.name


def drawn(examples: int) -> settings:
    """Hypothesis settings of the property tests over generated documents: `examples`
    draws, no deadline (the machine is shared), no example database (each run explores
    afresh), and no health check (their strategies are slow and filter on purpose)."""
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            is_loopback = False
        if not is_loopback:
            raise RuntimeError(f"tests may only connect to loopback, not {host}")
    return _real_connect(self, address)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules that start whole processes run first, then those with property tests (slow
    per test, and slower under coverage), then the rest: `scripts/test` spreads modules
    over two pytest-xdist workers, and a long module handed out last would leave one worker
    idle while the other finishes it. Each module stays in one piece and in its own order;
    no test depends on the order of modules."""
    rank: dict[Path, int] = {}
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            weight = 0
        elif getattr(getattr(item, "module", None), "given", None) is given:
            weight = 1  # the module draws examples with Hypothesis
        else:
            weight = 2
        rank[item.path] = min(rank.get(item.path, 2), weight)
    items.sort(key=lambda item: rank[item.path])


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def corpus() -> Path:
    """The shared folder of real-world WSDLs; tests read it, never write it."""
    if not CORPUS.is_dir():
        pytest.skip("the shared WSDL corpus is not beside this checkout")
    return CORPUS
