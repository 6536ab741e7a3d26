"""Helpers for hot-reload runs: a facade process on copies of the demo's folders, in front
of the mock CRM, and clients that keep calling it while the folders change."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from processes import STARTUP_SECONDS, Running, free_port, process

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60.0
"""Upper bound for a reload to show; on a loaded machine zeep can take a few seconds."""
WORKERS_STARTUP = 120.0
"""With `--workers`, each worker loads the WSDLs; on a machine shared by many test runs that
can take more than the usual 30 s (a bound on waiting, not a timing)."""


@dataclass
class Facade:
    base: str
    mappings: Path
    wsdl: Path
    running: Running

    def mapping(self, name: str) -> dict[str, Any]:
        return dict(yaml.safe_load((self.mappings / f"{name}.yaml").read_text("utf-8")))

    def write(self, name: str, document: dict[str, Any] | str) -> None:
        """Write a mapping file as an editor that saves through a rename does."""
        text = document if isinstance(document, str) else yaml.safe_dump(document)
        target = self.mappings / f"{name}.yaml"
        temporary = self.mappings / f".{name}.yaml.tmp"
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)

    def ready(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.base}/readyz", timeout=10.0).json())

    def metric(self, name: str, **labels: str) -> float:
        from prometheus_client.parser import text_string_to_metric_families

        scrape = httpx.get(f"{self.base}/metrics", timeout=10.0).text
        return sum(
            sample.value
            for family in text_string_to_metric_families(scrape)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
        )


def copy_folders(tmp_path: Path) -> tuple[Path, Path]:
    mappings, wsdl = tmp_path / "mappings", tmp_path / "wsdl"
    mappings.mkdir()
    for name in ("customers/get-customer", "orders/get-order", "customers/search-customers"):
        shutil.copy(ROOT / "mappings" / f"{name}.yaml", mappings / f"{Path(name).name}.yaml")
    shutil.copytree(ROOT / "wsdl", wsdl)
    return mappings, wsdl


@contextmanager
def mock_crm() -> Iterator[str]:
    """The mock CRM; yields its address. Reload tests only read from it, so one can serve
    the facades of a whole module."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/crm"
    mock = ["mock", "wsdl/crm.wsdl", "--handlers", "demo/crm_handlers.py", "--port", str(port)]
    with process(mock, f"{url}?wsdl"):
        yield url


@contextmanager
def facade(tmp_path: Path, *options: str, crm: str | None = None) -> Iterator[Facade]:
    """`facade serve OPTIONS` on copies of the demo's folders, in front of the mock CRM at
    `crm` (one of its own when not given)."""
    mappings, wsdl = copy_folders(tmp_path)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port), "--mappings", str(mappings), "--wsdl", str(wsdl)]
    with ExitStack() as stack:
        if crm is None:
            crm = stack.enter_context(mock_crm())
        env = {"CRM_URL": crm}
        startup = WORKERS_STARTUP if "--workers" in options else STARTUP_SECONDS
        ready = f"{base}/readyz"
        running = stack.enter_context(process([*serve, *options], ready, env, startup))
        yield Facade(base, mappings, wsdl, running)


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Poll until `check()` holds; fail naming `what` after WAIT_SECONDS."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not seen within {WAIT_SECONDS:g} s")


def reload_count(app: Facade, result: str) -> float:
    return app.metric("facade_reloads_total", result=result)


@dataclass
class Traffic:
    """Threads that call paths in a loop, each call on a fresh connection (so that every
    worker of a multi-worker facade takes some), recording every answer."""

    base: str
    paths: list[str]
    threads: int = 4
    answers: Counter[tuple[str, int | str]] = field(default_factory=Counter)
    bodies: dict[str, list[Any]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        while not self._stop.is_set():
            for path in self.paths:
                self._one(path)

    def _one(self, path: str) -> None:
        try:
            response = httpx.get(self.base + path, timeout=30.0)
        except httpx.HTTPError as exc:
            outcome: int | str = type(exc).__name__
            body = None
        else:
            outcome = response.status_code
            body = response.json() if outcome == 200 else None
        with self._lock:
            self.answers[(path, outcome)] += 1
            if body is not None:
                shapes = self.bodies.setdefault(path, [])
                if body not in shapes:
                    shapes.append(body)

    def failures(self) -> dict[tuple[str, int | str], int]:
        return {key: n for key, n in self.answers.items() if key[1] != 200}

    @contextmanager
    def running(self) -> Iterator[Traffic]:
        workers = [threading.Thread(target=self.run, daemon=True) for _ in range(self.threads)]
        for worker in workers:
            worker.start()
        try:
            yield self
        finally:
            self._stop.set()
            for worker in workers:
                worker.join(60)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended while listed
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def workers_started(app: Facade, workers: int) -> bool:
    """Every worker of the supervisor has its translator process: past its startup's
    reading of the files, so a later edit is one it must reload."""
    started = [pid for pid in children(app.running.proc.pid) if children(pid)]
    return len(started) >= workers
