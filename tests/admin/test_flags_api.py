"""Run-time flags over HTTP: the facade under uvicorn with named admin tokens and a state
file, legacy and the new side pytest-httpserver servers on 127.0.0.1. Flips through the API
and through `facade flags`, their refusals, the kill switch, the audit, a guard tripping on
a new side that starts failing, a ramp stepping, and a corrupt state file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pytest_httpserver import HTTPServer
from servers import PromptHTTPServer, serve_in_thread
from test_admin_api import LEGACY_BODY, legacy_answer
from test_app import closed_port
from typer.testing import CliRunner

from facade.app import create_app
from facade.cli import app as cli
from facade.mapping.loader import load_mappings
from facade.pacing import Pacer, PacingMiddleware
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parents[2]
ALICE, BOB, WRONG = "alice-token-1", "bob-token-2", "not-a-token"
NEW_BODY = {"id": 1, "name": "Ada Lovelace", "balance": "1234.50"}
WAIT_SECONDS = 20.0
"""How long a background step may take to show under a loaded machine (a bound, not a timing)."""


def mapping(path: str, new: bool = True, **sections: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "route": {"method": "GET", "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "GetCustomer",
            "address": "${CRM_URL}",
            "request": {"CustomerId": "path.id"},
            "response": "Customer.{id: Id, name: Name, balance: Balance}",
        },
        **sections,
    }
    if new:
        document["new"] = {"url": "${NEW_URL}/api/customers/{path.id}", "timeout": 5}
    return document


MAPPINGS = {
    "customer": mapping("/v1/customer/{id}", cache={"ttl": 60, "public": True}),
    "guarded": mapping(
        "/v1/guarded/{id}", migration={"mode": "new", "guard": {"error_rate": 0.5, "window": 4}}
    ),
    "ramping": mapping(
        "/v1/ramping/{id}",
        migration={"mode": "canary", "percent": 0, "ramp": {"step": 50, "every": "1s"}},
    ),
    "legacy-only": mapping("/v1/legacy-only/{id}", new=False),
}


@pytest.fixture
def peers(httpserver: HTTPServer, make_httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """Legacy answers every call; the new side (returned) answers what each test says."""
    new = PromptHTTPServer(host="127.0.0.1", port=0, threaded=True)
    new.start()
    httpserver.expect_request("/crm").respond_with_data(legacy_answer(), content_type="text/xml")
    yield new
    new.clear()
    new.stop()


Start = Callable[..., Any]


@pytest.fixture
def start(httpserver: HTTPServer, peers: HTTPServer, tmp_path: Path) -> Start:
    """A facade over MAPPINGS, its flags in tmp_path/state/flags.json unless told otherwise."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    for name, document in MAPPINGS.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    env = {"CRM_URL": httpserver.url_for("/crm"), "NEW_URL": peers.url_for("").rstrip("/")}
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(folder, env), registry)

    @contextmanager
    def started(state: Path | None = tmp_path / "state" / "flags.json") -> Iterator[str]:
        settings = Settings(
            admin_token=ALICE,
            admin_tokens=(("bob", BOB),),
            state_path=state,
            retire_after=3600,
        )
        with serve_in_thread(create_app(table, registry, settings)) as url:
            yield url

    return started


def admin(token: str = ALICE) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def backend(url: str, path: str, **headers: str) -> str:
    response = httpx.get(url + path, headers=headers, trust_env=False, timeout=10)
    assert response.status_code == 200, response.text
    return response.headers["x-facade-backend"]


def flags(url: str) -> dict[str, dict[str, Any]]:
    document = httpx.get(url + "/admin/flags", headers=admin(), trust_env=False).json()
    return {route["name"]: route for route in document["routes"]}


def history(url: str, route: str | None = None) -> list[dict[str, Any]]:
    params = {"route": route} if route else {}
    answer = httpx.get(url + "/admin/history", params=params, headers=admin(), trust_env=False)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def put(url: str, route: str, body: Any, token: str = ALICE) -> httpx.Response:
    return httpx.put(f"{url}/admin/flags/{route}", json=body, headers=admin(token), trust_env=False)


def flags_cli(url: str, *args: str, token: str = BOB) -> Any:
    return CliRunner().invoke(cli, ["flags", *args, "--url", url, "--token", token])


def test_a_flip_through_the_api_moves_the_next_request(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start() as url:
        assert backend(url, "/v1/customer/1") == "legacy"
        assert backend(url, "/v1/customer/1") == "legacy"  # now from the cache
        answer = put(url, "customer", {"mode": "new", "reason": "ticket 42"}, token=BOB)
        assert answer.status_code == 200, answer.text
        assert answer.json()["effective"] == {"mode": "new", "percent": 0.0}
        # the flip purged the route's cached legacy answers: new serves at once
        assert backend(url, "/v1/customer/1") == "new"
        listed = flags(url)["customer"]
        assert listed["declared"] == {"mode": "legacy", "percent": 0.0}
        assert (listed["override"]["who"], listed["override"]["reason"]) == ("bob", "ticket 42")
        [entry] = history(url, "customer")
        assert {k: entry[k] for k in ("who", "route", "from", "to", "reason", "automatic")} == {
            "who": "bob",
            "route": "customer",
            "from": "legacy",
            "to": "new",
            "reason": "ticket 42",
            "automatic": False,
        }
        reset = httpx.post(f"{url}/admin/flags/customer/reset", headers=admin(), trust_env=False)
        assert reset.json()["effective"]["mode"] == "legacy"
        assert backend(url, "/v1/customer/1") == "legacy"
        assert [e["who"] for e in history(url, "customer")] == ["bob", "admin"]


def test_a_canary_flip_splits_callers_by_their_sticky_key(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start() as url:
        assert put(url, "ramping", {"mode": "canary", "percent": 100}).status_code == 200
        assert backend(url, "/v1/ramping/1") == "new"  # everyone is below 100 %
        assert put(url, "ramping", {"mode": "canary", "percent": 0}).status_code == 200
        assert backend(url, "/v1/ramping/1") == "legacy"


@pytest.mark.parametrize(
    ("route", "body", "status", "field"),
    [
        ("nope", {"mode": "new"}, 404, "path.route"),
        ("legacy-only", {"mode": "canary", "percent": 10}, 422, "body.mode"),
        ("legacy-only", {"mode": "new"}, 422, "body.mode"),
        ("customer", {"mode": "canary", "percent": 120}, 422, "body.percent"),
        ("customer", {"mode": "canary", "percent": -5}, 422, "body.percent"),
        ("customer", {"mode": "new", "percent": 10}, 422, "body.percent"),
        ("customer", {"mode": "canary", "percent": "ten"}, 422, "body.percent"),
        ("customer", {"mode": "sideways"}, 422, "body.mode"),
        ("customer", {}, 422, "body.mode"),
        ("customer", {"mode": "new", "reason": 7}, 422, "body.reason"),
        ("customer", [1], 422, "body"),
    ],
)
def test_a_flip_that_makes_no_sense_is_refused_naming_the_field(
    start: Start, route: str, body: Any, status: int, field: str
) -> None:
    with start() as url:
        answer = put(url, route, body)
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in answer.json()["errors"]] == [field]
        assert history(url) == []


def test_a_body_that_is_not_json_is_refused(start: Start) -> None:
    with start() as url:
        answer = httpx.put(
            f"{url}/admin/flags/customer", content=b"{mode", headers=admin(), trust_env=False
        )
        assert (answer.status_code, answer.json()["errors"][0]["field"]) == (422, "body")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/admin/flags/customer"),
        ("POST", "/admin/flags/customer/reset"),
        ("POST", "/admin/kill-switch"),
        ("GET", "/admin/flags"),
        ("GET", "/admin/history"),
    ],
)
@pytest.mark.parametrize("token", [None, "wrong"])
def test_every_admin_call_needs_a_valid_token(
    start: Start, method: str, path: str, token: str | None
) -> None:
    headers = admin(token) if token else {}
    with start() as url:
        answer = httpx.request(method, url + path, json={"mode": "new"}, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert flags(url)["customer"]["override"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/kill-switch"),
        ("GET", "/admin/flags/customer/reset"),
        ("POST", "/admin/flags/customer"),
    ],
)
def test_mutations_take_post_or_put_only(start: Start, method: str, path: str) -> None:
    with start() as url:
        answer = httpx.request(method, url + path, headers=admin(), trust_env=False)
        assert answer.status_code == 405
        assert answer.headers["content-type"] == "application/problem+json"


def test_the_kill_switch_sends_every_route_back_to_legacy(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start() as url:
        put(url, "customer", {"mode": "new"})
        assert backend(url, "/v1/guarded/1") == "new"
        killed = httpx.post(
            f"{url}/admin/kill-switch", json={"reason": "incident 7"}, headers=admin(BOB)
        )
        assert killed.json() == {"moved": ["customer", "guarded", "ramping"]}
        for path in ("/v1/customer/1", "/v1/guarded/1", "/v1/ramping/1"):
            assert backend(url, path) == "legacy"
        assert {r["effective"]["mode"] for r in flags(url).values()} == {"legacy"}
        kills = [e for e in history(url) if e["reason"] == "incident 7"]
        assert {e["route"] for e in kills} == {"customer", "guarded", "ramping"}
        assert {e["who"] for e in kills} == {"bob"}


def test_flips_survive_a_restart(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start() as url:
        put(url, "customer", {"mode": "new", "reason": "go"})
    with start() as url:
        assert backend(url, "/v1/customer/1") == "new"
        assert [e["reason"] for e in history(url)] == ["go"]


def test_without_a_state_file_flips_live_in_the_process(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start(state=None) as url:
        put(url, "customer", {"mode": "new"})
        assert backend(url, "/v1/customer/1") == "new"
        assert len(history(url)) == 1
        ready = httpx.get(url + "/readyz").json()
        assert ready["flags"] == {"store": "in-process (lost at exit)", "problem": None}


def test_a_corrupt_state_file_serves_the_declaration_and_refuses_flips(
    start: Start, tmp_path: Path
) -> None:
    state = tmp_path / "state" / "flags.json"
    state.parent.mkdir()
    state.write_text('{"overrides": {"customer": ')
    with start(state) as url:
        assert backend(url, "/v1/customer/1") == "legacy"
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 200
        assert "cannot be used" in ready.json()["flags"]["problem"]
        answer = put(url, "customer", {"mode": "new"})
        assert answer.status_code == 409
        assert answer.json()["type"] == "urn:facade:problem:flag-state-unavailable"
        assert "repaired or removed" in answer.json()["detail"]
        result = flags_cli(url, "set", "customer", "new")
        assert result.exit_code == 1
        assert "refused (409)" in result.output
    assert state.read_text() == '{"overrides": {"customer": '


def test_a_guard_trips_when_the_new_side_starts_failing(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json({"error": "boom"}, status=500)
    with start() as url:
        sides = [backend(url, "/v1/guarded/1") for _ in range(4)]
        assert sides == ["legacy-fallback"] * 4  # clients never saw the failures
        assert backend(url, "/v1/guarded/1") == "legacy"  # the guard flipped the route
        [trip] = history(url, "guarded")
        assert (trip["who"], trip["automatic"], trip["from"], trip["to"]) == (
            "facade",
            True,
            "new",
            "legacy",
        )
        assert (trip["figure"], trip["threshold"]) == (1.0, 0.5)
        status = httpx.get(url + "/admin/status", headers=admin()).json()
        guarded = next(r for r in status["routes"] if r["name"] == "guarded")
        assert (guarded["mode"], guarded["override"]["tripped"]) == ("legacy", True)
        assert guarded["declared"]["mode"] == "new"
        peers.clear()
        peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
        for _ in range(8):  # it stays on legacy until an operator flips it
            assert backend(url, "/v1/guarded/1") == "legacy"
        assert put(url, "guarded", {"mode": "new", "reason": "fixed"}).status_code == 200
        assert backend(url, "/v1/guarded/1") == "new"


def test_a_ramp_steps_on_a_short_period_until_new(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start() as url:
        deadline = time.monotonic() + WAIT_SECONDS
        while flags(url)["ramping"]["effective"]["mode"] != "new":
            assert time.monotonic() < deadline, flags(url)["ramping"]
            time.sleep(0.2)
        steps = history(url, "ramping")
        assert [(e["from_percent"], e["to"], e["percent"]) for e in steps] == [
            (0.0, "canary", 50.0),
            (50.0, "new", 0.0),
        ]
        assert {(e["who"], e["automatic"]) for e in steps} == {("facade", True)}
        assert backend(url, "/v1/ramping/1") == "new"


def test_the_cli_flips_lists_resets_and_shows_history(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start() as url:
        result = flags_cli(url, "set", "customer", "canary", "--percent", "100", "--reason", "t1")
        assert (result.exit_code, result.output) == (0, "customer: canary 100%\n")
        assert backend(url, "/v1/customer/1") == "new"
        listing = flags_cli(url, "list")
        assert listing.exit_code == 0
        row = next(line for line in listing.output.splitlines() if line.startswith("customer"))
        assert row.split()[:4] == ["customer", "legacy", "canary:100%", "bob"]
        assert flags_cli(url, "reset", "customer").output == "customer: legacy (as declared)\n"
        killed = flags_cli(url, "set", "--all", "legacy", "--reason", "incident")
        assert (killed.exit_code, killed.output) == (
            0,
            "every route on legacy (2 moved: guarded, ramping)\n",
        )
        shown = flags_cli(url, "history", "customer")
        assert shown.exit_code == 0
        lines = shown.output.splitlines()
        assert lines[0].split() == ["WHEN", "WHO", "ROUTE", "FROM", "TO", "REASON"]
        assert [line.split()[1] for line in lines[1:]] == ["bob", "bob"]
        everything = flags_cli(url, "history")
        assert "guarded" in everything.output and "incident" in everything.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["set", "customer", "new"], "refused the admin token (401)"),
        (["list"], "refused the admin token (401)"),
        (["history"], "refused the admin token (401)"),
        (["reset", "customer"], "refused the admin token (401)"),
    ],
)
def test_the_cli_exits_non_zero_on_a_wrong_token(start: Start, args: list[str], says: str) -> None:
    with start() as url:
        result = flags_cli(url, *args, token=WRONG)
        assert result.exit_code == 1
        assert says in result.output
        assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["set", "nope", "new"], "refused (404): path.route: no route named 'nope'"),
        (["set", "legacy-only", "new"], "refused (422): body.mode: route 'legacy-only' has no new"),
        (["set", "customer", "canary", "--percent", "150"], "refused (422): body.percent"),
        (["history", "nope"], "refused (404): query.route"),
        (["reset", "nope"], "refused (404)"),
    ],
)
def test_the_cli_exits_non_zero_on_a_refused_flip(start: Start, args: list[str], says: str) -> None:
    with start() as url:
        result = flags_cli(url, *args)
        assert result.exit_code == 1
        assert says in result.output
        assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args",
    [["set", "customer"], ["set", "--all", "new"], ["set", "customer", "new", "--all"]],
)
def test_the_cli_refuses_incomplete_commands(start: Start, args: list[str]) -> None:
    with start() as url:
        result = flags_cli(url, *args)
        assert result.exit_code == 2
        assert flags(url)["customer"]["override"] is None


def test_the_cli_says_when_the_facade_is_unreachable_or_has_no_token() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    result = flags_cli(url, "list")
    assert (result.exit_code, "cannot reach the facade" in result.output) == (1, True)
    result = CliRunner().invoke(
        cli, ["flags", "list", "--url", url], env={"FACADE_ADMIN_TOKEN": ""}
    )
    assert (result.exit_code, "no admin token" in result.output) == (1, True)


def test_the_legacy_answer_is_what_clients_get(start: Start) -> None:
    with start() as url:
        assert httpx.get(url + "/v1/customer/1").json() == LEGACY_BODY


def test_the_admin_api_skips_the_pacing_like_health_checks() -> None:
    middleware = PacingMiddleware(
        app=None, pacer=Pacer(), exempt=("/healthz",), exempt_prefix="/admin/"
    )  # type: ignore[arg-type]
    assert middleware._exempt("/admin/kill-switch")
    assert middleware._exempt("/admin/flags/a/reset")
    assert middleware._exempt("/healthz")
    assert not middleware._exempt("/administrators")
    assert not middleware._exempt("/v1/customer/1")


def test_status_shows_guard_figures_ramp_and_overrides(start: Start, peers: HTTPServer) -> None:
    peers.expect_request("/api/customers/1").respond_with_json(NEW_BODY)
    with start() as url:
        put(url, "customer", {"mode": "new", "reason": "ticket 9"}, token=BOB)
        backend(url, "/v1/guarded/1")
        backend(url, "/v1/guarded/1")
        document = httpx.get(url + "/admin/status", headers=admin()).json()
        routes = {route["name"]: route for route in document["routes"]}
        guarded = routes["guarded"]
        assert guarded["guard"] == {
            "window": 4,
            "calls": 2,
            "comparisons": 0,
            "error_rate": None,
            "error_rate_limit": 0.5,
            "mismatch_rate": None,
            "mismatch_rate_limit": None,
        }
        assert (guarded["failing"], guarded["retired"], guarded["override"]) == (False, False, None)
        assert routes["customer"]["override"]["who"] == "bob"
        assert routes["customer"]["declared"] == {"mode": "legacy", "percent": 0.0}
        assert routes["ramping"]["ramp"]["step"] == 50
        assert document["wsdls"] == [
            {
                "wsdl": "crm.wsdl",
                "routes": 4,
                "retired_routes": 0,
                "operations": 1,
                "legacy_operations_in_use": 1,
            }
        ]
        shown = CliRunner().invoke(cli, ["status", "--url", url, "--token", ALICE])
        lines = shown.output.splitlines()
        assert "customer: flipped by bob: ticket 9" in lines
        assert "guarded: guard over 4: error_rate n/a (window not full) (limit 0.5)" in lines
        row = next(line.split() for line in lines if line.startswith("guarded "))
        assert (row[1], row[3], row[-1]) == ("new", "new", "ok")
