"""Hot reload of a running `facade serve`: mapping files edited, added and removed, a WSDL
edited, broken edits refused, by the file watcher and by SIGHUP, with one worker and two;
clients keep calling throughout and no call fails. The tests only read from the mock CRM,
so one serves the whole module; each test starts the facade it needs, except the broken
edits, which share one: each puts the files back as they were before the next."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reloading import (
    Facade,
    Traffic,
    facade,
    mock_crm,
    reload_count,
    wait_for,
    workers_started,
)

pytestmark = pytest.mark.e2e

CUSTOMER = "/v1/customers/1"
ORDER = "/v1/orders/1001"
CLIENT = "/v1/clients/1"


@pytest.fixture(scope="module")
def crm() -> Iterator[str]:
    with mock_crm() as url:
        yield url


def get(app: Facade, path: str) -> httpx.Response:
    return httpx.get(app.base + path, timeout=10.0)


def generation(app: Facade) -> int:
    return int(app.ready()["configuration"]["generation"])


def last_reload(app: Facade) -> dict[str, Any]:
    return dict(app.ready()["configuration"].get("reload") or {})


def added_route(app: Facade) -> dict[str, Any]:
    """get-customer under another path and name: a route the facade did not serve."""
    document = app.mapping("get-customer")
    document["route"]["path"] = "/v1/clients/{id}"
    document.pop("new")
    return document


def test_edit_add_and_remove_under_traffic_fail_no_request(tmp_path: Path, crm: str) -> None:
    with facade(tmp_path, "--reload-mappings", crm=crm) as app:
        before = get(app, ORDER).json()
        assert get(app, CLIENT).status_code == 404
        traffic = Traffic(app.base, [CUSTOMER, ORDER])
        with traffic.running():
            app.write("get-client", added_route(app))
            wait_for(lambda: get(app, CLIENT).status_code == 200, "the added route")

            edited = app.mapping("get-order")
            edited["legacy"]["response"] = "Order.{Id: Id, Status: Status}"
            app.write("get-order", edited)
            wait_for(lambda: get(app, ORDER).json() != before, "the edited route's answer")

            (app.mappings / "search-customers.yaml").unlink()
            wait_for(lambda: get(app, "/v1/customers?status=active").status_code == 404, "removal")
        assert get(app, ORDER).json() == {"Id": before["Id"], "Status": before["Status"]}
        assert get(app, CLIENT).json() == get(app, CUSTOMER).json()
        assert reload_count(app, "ok") >= 3
        log = app.running.output()
    assert traffic.failures() == {}
    assert traffic.answers[(CUSTOMER, 200)] > 0
    assert traffic.bodies[ORDER] == [before, {"Id": before["Id"], "Status": before["Status"]}]
    assert '"added":["get-client"]' in log
    assert '"changed":["get-order"]' in log
    assert '"removed":["search-customers"]' in log


BROKEN = {
    "bad YAML": ("get-order", "route: [unclosed\n", ""),
    "unknown field": ("get-order", {"legacy": {"operaton": "GetOrder"}}, "legacy.operaton"),
    "unknown operation": ("get-order", {"legacy": {"operation": "GetOrdr"}}, "legacy.operation"),
    "path conflict": ("other-customer", {"route": {"path": "/v1/customers/{id}"}}, "route.path"),
}


def broken(app: Facade, edit: dict[str, Any] | str) -> dict[str, Any] | str:
    if isinstance(edit, str):
        return edit
    document = app.mapping("get-order")
    for section, values in edit.items():
        document[section] = {**document[section], **values}
    return document


@pytest.fixture(scope="module")
def watching(tmp_path_factory: pytest.TempPathFactory, crm: str) -> Iterator[Facade]:
    """One watching facade for every broken edit: each case leaves the files as it found
    them, so the next finds generation 1 serving and the last reload not a failure."""
    with facade(tmp_path_factory.mktemp("broken"), "--reload-mappings", crm=crm) as app:
        yield app


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_edit_keeps_the_previous_configuration(watching: Facade, case: str) -> None:
    name, edit, field = BROKEN[case]
    app = watching
    assert last_reload(app).get("result") != "failed"  # what the previous case left
    before = get(app, ORDER).json()
    failed_before = reload_count(app, "failed")
    logged_before = len(app.running.output())
    traffic = Traffic(app.base, [CUSTOMER, ORDER], threads=2)
    with traffic.running():
        app.write(name, broken(app, edit))
        wait_for(lambda: last_reload(app).get("result") == "failed", "the failed reload")
        report = app.ready()
        assert report["ready"] is True  # the previous configuration serves
        [problem] = report["configuration"]["reload"]["problems"]
        assert problem == {"file": str(app.mappings / f"{name}.yaml"), "field": field}
        assert report["configuration"]["generation"] == 1
        assert get(app, ORDER).json() == before
        assert reload_count(app, "failed") >= failed_before + 1
        assert "configuration reload failed" in app.running.output()[logged_before:]

        if name == "get-order":  # put it back as it was: nothing to swap, report cleared
            app.write("get-order", app_mapping_original(app))
        else:
            (app.mappings / f"{name}.yaml").unlink()
        wait_for(lambda: last_reload(app).get("problems") == [], "the cleared report")
    assert get(app, ORDER).json() == before
    assert app.ready()["configuration"]["generation"] == 1  # nothing was swapped
    assert traffic.failures() == {}


def app_mapping_original(app: Facade) -> str:
    from reloading import ROOT

    return (ROOT / "mappings/orders/get-order.yaml").read_text("utf-8")


def test_a_wsdl_edit_is_served_and_a_broken_wsdl_is_refused(tmp_path: Path, crm: str) -> None:
    """The WSDL types Customer.Id as int; typed as string, the answer carries a string."""
    with facade(tmp_path, "--reload-mappings", crm=crm) as app:
        assert get(app, CUSTOMER).json()["Id"] == 1
        crm = app.wsdl / "crm.wsdl"
        original = crm.read_text("utf-8")
        traffic = Traffic(app.base, [CUSTOMER, ORDER], threads=2)
        with traffic.running():
            crm.write_text(original.replace("<s:schema", "<s:schema <<", 1), encoding="utf-8")
            wait_for(lambda: last_reload(app).get("result") == "failed", "the failed reload")
            assert last_reload(app)["problems"] == [{"file": str(crm), "field": ""}]
            assert get(app, CUSTOMER).json()["Id"] == 1

            customer = '<s:element minOccurs="1" maxOccurs="1" name="Id" type="s:int"/>'
            assert original.count(customer) == 1
            as_string = customer.replace("s:int", "s:string")
            crm.write_text(original.replace(customer, as_string), encoding="utf-8")
            wait_for(lambda: get(app, CUSTOMER).json()["Id"] == "1", "the WSDL's new type")
        assert last_reload(app)["problems"] == []
        assert '"changed":["get-customer","get-order","search-customers"]' in app.running.output()
    assert traffic.failures() == {}


def test_sighup_reloads_without_the_watcher(tmp_path: Path, crm: str) -> None:
    with facade(tmp_path, crm=crm) as app:
        app.write("get-client", added_route(app))
        assert get(app, CLIENT).status_code == 404  # nothing watches: the file waits
        app.running.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: get(app, CLIENT).status_code == 200, "the route added by SIGHUP")
        assert last_reload(app)["reason"] == "signal"
        assert app.running.proc.poll() is None  # SIGHUP reloads, it does not stop the server


def test_two_workers_reload_on_sighup_in_place(tmp_path: Path, crm: str) -> None:
    """SIGHUP to `facade serve --workers 2` reaches both workers, and each reloads in
    place: every answer afterwards comes from generation 2 (a restarted worker would be
    at generation 1 again)."""
    with facade(tmp_path, "--workers", "2", crm=crm) as app:
        wait_for(lambda: workers_started(app, 2), "both workers")
        traffic = Traffic(app.base, [CUSTOMER], threads=2)
        with traffic.running():
            app.write("get-client", added_route(app))
            app.running.proc.send_signal(signal.SIGHUP)
            wait_for(lambda: all(generation(app) == 2 for _ in range(20)), "both workers")
            assert all(get(app, CLIENT).status_code == 200 for _ in range(20))
    assert traffic.failures() == {}


def test_two_workers_each_watch_the_folders(tmp_path: Path, crm: str) -> None:
    with facade(tmp_path, "--workers", "2", "--reload-mappings", crm=crm) as app:
        wait_for(lambda: workers_started(app, 2), "both workers")
        app.write("get-client", added_route(app))
        wait_for(
            lambda: all(get(app, CLIENT).status_code == 200 for _ in range(20)),
            "the added route in both workers",
        )
        assert all(generation(app) == 2 for _ in range(20))
        assert reload_count(app, "ok") == 2  # one per worker, summed over both


def test_a_burst_of_writes_is_reloaded_in_few_swaps(tmp_path: Path, crm: str) -> None:
    """Thirty saves in a row, as a checkout or a script makes them: the watcher waits for
    the writing to pause, so far fewer reloads than saves, and the last save serves."""
    saves = 30
    with facade(tmp_path, "--reload-mappings", crm=crm) as app:
        document = app.mapping("get-order")
        for turn in range(saves):
            document["legacy"]["response"] = f"{{Turn: `{turn}`}}"
            app.write("get-order", document)
        wait_for(lambda: get(app, ORDER).json() == {"Turn": saves - 1}, "the last save")
        swaps = reload_count(app, "ok")
    assert 1 <= swaps < saves
