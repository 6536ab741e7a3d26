"""The principal as mapping expressions see it: `principal.sub` fills a SOAP argument that
reaches the mock SOAP server, and cached answers stay apart per principal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import identity
import orjson
import pytest
from facades import facade_for
from servers import serve_in_thread

from facade.mock import build_mock_app

ROOT = Path(__file__).resolve().parent.parent.parent
received: list[Any] = []


def SearchCustomers(**arguments: Any) -> dict[str, Any]:  # noqa: N802 - the operation's name
    received.append(arguments.get("Name"))
    return {"Customers": {"Customer": []}, "Total": 0}


def mapping(path: str, **cache: Any) -> dict[str, Any]:
    return {
        "route": {"method": "GET", "path": path},
        "legacy": {
            "wsdl": "crm.wsdl",
            "operation": "SearchCustomers",
            "address": "${CRM_URL}",
            "request": {"Name": "principal.sub"},
        },
        "cache": {"ttl": 300, **cache},
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("principal")
    (folder / "jwks.json").write_bytes(orjson.dumps(identity.jwks("k1")))
    config = {
        "auth": {
            "jwt": {
                "jwks_file": str(folder / "jwks.json"),
                "issuer": identity.ISSUER,
                "audience": identity.AUDIENCE,
            }
        }
    }
    mock = build_mock_app(ROOT / "wsdl" / "crm.wsdl", {"SearchCustomers": SearchCustomers})
    new_side = {
        **mapping("/v1/profile"),
        "new": {"url": "${NEW_URL}/users/{principal.sub}"},
        "migration": {"mode": "new", "fallback": False},
    }
    del new_side["cache"]
    catalog = mapping("/v1/catalog", public=True)  # the same answer for every caller...
    catalog["legacy"]["request"] = {"Name": "query.name"}  # ...but only for callers let in
    with serve_in_thread(mock) as mock_url, serve_in_thread(users) as users_url:
        mappings = {
            "mine": mapping("/v1/mine"),
            "mine-public": mapping("/v1/ours", public=True),
            "catalog": catalog,
            "profile": new_side,
        }
        (folder / "mappings").mkdir()
        env = {"CRM_URL": mock_url + "/crm", "NEW_URL": users_url}
        with facade_for(folder / "mappings", mappings, env, config=config) as url:
            yield url


async def users(scope: Any, receive: Any, send: Any) -> None:
    """The new side: answers with the path it was asked for, still percent-encoded."""
    raw = scope["raw_path"].decode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": orjson.dumps({"path": raw})})


def get(base: str, path: str, sub: str, **claims: Any) -> httpx.Response:
    token = identity.token(sub=sub, **claims)
    return httpx.get(base + path, headers={"authorization": f"Bearer {token}"})


def test_the_principals_subject_reaches_the_soap_server(base: str) -> None:
    received.clear()
    answer = get(base, "/v1/mine", "ada")
    assert answer.status_code == 200, answer.text
    assert received == ["ada"]


def test_cached_answers_are_kept_apart_per_principal(base: str) -> None:
    received.clear()
    for sub in ("carol", "dave", "carol", "dave"):
        assert get(base, "/v1/mine", sub).status_code == 200
    assert received == ["carol", "dave"]  # one call each; the repeats were hits


def test_a_public_cache_still_parts_principals_its_expressions_read(base: str) -> None:
    received.clear()
    for sub in ("erin", "frank", "erin"):
        assert get(base, "/v1/ours", sub).status_code == 200
    assert received == ["erin", "frank"]


def test_a_fresh_token_of_the_same_principal_hits_its_entry(base: str) -> None:
    received.clear()
    first = get(base, "/v1/mine", "gina", jti="one")
    second = get(base, "/v1/mine", "gina", jti="two")  # another token, the same principal
    assert (first.headers["x-facade-cache"], second.headers["x-facade-cache"]) == ("miss", "hit")
    assert received == ["gina"]


def test_the_principals_subject_fills_the_new_sides_url_percent_encoded(base: str) -> None:
    answer = get(base, "/v1/profile", "ann/../admin?x")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"path": "/users/ann%2F..%2Fadmin%3Fx"}


def test_a_cached_answer_of_a_route_behind_the_gate_is_never_served_past_it(base: str) -> None:
    """The answer is cached for everyone (`public`), yet a caller without a token is refused
    before any cache lookup: hits are served in front of the framework only for routes that
    ask nothing of their callers."""
    received.clear()
    first = get(base, "/v1/catalog?name=lamps", "hana")
    again = get(base, "/v1/catalog?name=lamps", "ivan")
    assert (first.headers["x-facade-cache"], again.headers["x-facade-cache"]) == ("miss", "hit")
    anonymous = httpx.get(base + "/v1/catalog?name=lamps")
    assert anonymous.status_code == 401
    assert "x-facade-cache" not in anonymous.headers
    assert received == ["lamps"]
