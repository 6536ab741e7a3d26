"""The reloader inside one app: a request keeps the configuration it started on, a reload
of unchanged files swaps nothing, an emptied folder is refused, counts and reports."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from servers import REPLY, serve_in_thread

from facade.app import create_app
from facade.net import HttpTransport, MemoryTransport, Reply
from facade.net.memory import MemoryRequest
from facade.settings import Settings
from facade.sources import build_from_folders

ROOT = Path(__file__).resolve().parent.parent.parent
WAIT = 60.0


def mapping(address: str, response: str) -> str:
    document = yaml.safe_load((ROOT / "mappings/customers/get-customer.yaml").read_text())
    document["legacy"]["address"] = address
    document["legacy"]["response"] = response
    document.pop("new")
    return yaml.safe_dump(document)


def settings(folder: Path, **more: Any) -> Settings:
    return Settings(mappings_dir=folder, wsdl_dir=ROOT / "wsdl", **more)


class GatedBackend:
    """Answers GetCustomer; the first call waits until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        self.calls += 1
        if self.calls == 1:
            await asyncio.to_thread(self.release.wait, WAIT)
        headers = [(b"content-type", b"text/xml; charset=utf-8")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": REPLY})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "mappings").mkdir()
    return tmp_path / "mappings"


@pytest.fixture
def backend() -> Iterator[tuple[str, GatedBackend]]:
    gated = GatedBackend()
    with serve_in_thread(gated) as url:
        yield f"{url}/crm", gated
    gated.release.set()


def test_a_request_finishes_on_the_configuration_it_started_on(
    folder: Path, backend: tuple[str, GatedBackend]
) -> None:
    address, gated = backend
    file = folder / "get-customer.yaml"
    file.write_text(mapping(address, "Customer.{Id: Id}"), encoding="utf-8")
    built = build_from_folders(folder, ROOT / "wsdl")
    app = create_app(
        built.table, built.registry, settings(folder, reload_mappings=True), built=built
    )
    with serve_in_thread(app) as base, ThreadPoolExecutor(1) as pool:
        first = pool.submit(httpx.get, f"{base}/v1/customers/1", timeout=WAIT)
        while gated.calls == 0:  # the first request is at the backend, on generation 1
            threading.Event().wait(0.01)
        file.write_text(mapping(address, "Customer.{Name: Name}"), encoding="utf-8")
        second = poll(base, lambda r: r.json() == {"Name": "Ada Lovelace"})
        gated.release.set()
        assert first.result().json() == {"Id": 1}
        assert second.json() == {"Name": "Ada Lovelace"}
        detail = httpx.get(f"{base}/readyz").json()["configuration"]
    assert (detail["generation"], detail["reload"]["result"]) == (2, "ok")


def poll(base: str, done: Any) -> httpx.Response:
    for _ in range(int(WAIT * 10)):
        response = httpx.get(f"{base}/v1/customers/1", timeout=WAIT)
        if done(response):
            return response
        threading.Event().wait(0.1)
    raise AssertionError("the reload was not served")


def memory_app(folder: Path) -> Any:
    def handler(request: MemoryRequest) -> Reply:
        return Reply(200, {"content-type": "text/xml"}, REPLY)

    (folder / "get-customer.yaml").write_text(
        mapping("http://crm.test/crm", "Customer"), encoding="utf-8"
    )
    built = build_from_folders(folder, ROOT / "wsdl")
    transport = MemoryTransport(handler)
    return create_app(
        built.table, built.registry, settings(folder), transport=transport, built=built
    )


def test_unchanged_files_swap_nothing(folder: Path) -> None:
    app = memory_app(folder)
    before = app.state.current.configuration
    outcome = asyncio.run(app.state.reloader.reload("test"))
    assert (outcome.result, outcome.generation) == ("unchanged", 1)
    assert app.state.current.configuration is before


def test_an_emptied_folder_is_refused_and_the_routes_stay(folder: Path) -> None:
    app = memory_app(folder)
    (folder / "get-customer.yaml").unlink()
    outcome = asyncio.run(app.state.reloader.reload("test"))
    assert outcome.result == "failed"
    [problem] = outcome.problems
    assert (problem.file, problem.field) == (str(folder), "")
    assert "no mapping files" in problem.message
    assert [route.name for route in app.state.current.configuration.table] == ["get-customer"]
    report = app.state.reloader.report()
    assert report["reload"]["problems"] == [{"file": str(folder), "field": ""}]


def test_a_changed_route_is_reported_with_a_new_revision(folder: Path) -> None:
    app = memory_app(folder)
    document = yaml.safe_load((folder / "get-customer.yaml").read_text())
    document["legacy"]["response"] = "Customer.Name"
    (folder / "get-customer.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    before = app.state.current.configuration
    outcome = asyncio.run(app.state.reloader.reload("test"))
    after = app.state.current.configuration
    assert (outcome.result, outcome.changes.changed) == ("ok", ("get-customer",))
    assert before.revisions["get-customer"] != after.revisions["get-customer"]
    assert before.version != after.version
    assert after.document["paths"].keys() == before.document["paths"].keys()


async def settled(reloader: Any, count: int) -> None:
    """Wait until `count` reloads have finished (or crashed)."""
    for _ in range(int(WAIT * 100)):
        if reloader.finished >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the reload did not finish")


def test_a_change_made_while_starting_is_caught_up(folder: Path) -> None:
    app = memory_app(folder)
    (folder / "get-customer.yaml").write_text(
        mapping("http://crm.test/crm", "Customer.Name"), encoding="utf-8"
    )
    reloader = app.state.reloader

    async def run() -> None:
        await reloader.start(watch=False, on_signal=False)
        try:
            await settled(reloader, 1)
        finally:
            await reloader.aclose()

    asyncio.run(run())
    assert (reloader.last.result, reloader.last.reason) == ("ok", "changed while starting")
    assert app.state.current.configuration.generation == 2


def test_a_crashing_reload_is_logged_and_reloading_goes_on(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = memory_app(folder)
    reloader = app.state.reloader
    configure = reloader.configure

    def broken(*args: Any) -> Any:
        raise RuntimeError("a bug")

    async def run() -> None:
        await reloader.start(watch=False, on_signal=False)
        try:
            (folder / "get-customer.yaml").write_text(
                mapping("http://crm.test/crm", "Customer.Name"), encoding="utf-8"
            )
            reloader.configure = broken
            reloader.request("first")
            await settled(reloader, 1)
            reloader.configure = configure
            reloader.request("second")
            await settled(reloader, 2)
        finally:
            await reloader.aclose()

    asyncio.run(run())
    assert "configuration reload crashed" in caplog.text
    assert (reloader.last.result, reloader.last.reason) == ("ok", "second")


def test_a_new_backend_origin_gets_its_pool_at_the_swap(folder: Path) -> None:
    (folder / "get-customer.yaml").write_text(
        mapping("http://crm-a.test/crm", "Customer"), encoding="utf-8"
    )
    built = build_from_folders(folder, ROOT / "wsdl")
    transport = HttpTransport()
    app = create_app(
        built.table, built.registry, settings(folder), transport=transport, built=built
    )
    document = yaml.safe_load(mapping("http://crm-b.test:8080/crm", "Customer"))
    document["route"]["path"] = "/v1/clients/{id}"
    (folder / "get-client.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")

    async def run() -> list[str]:
        try:
            assert not transport._pools  # the app has not started: no pool yet
            outcome = await app.state.reloader.reload("test")
            assert outcome.changes.added == ("get-client",)
            return sorted(transport._pools)
        finally:
            await transport.aclose()

    assert asyncio.run(run()) == ["http://crm-a.test:80", "http://crm-b.test:8080"]
