"""Token buckets per caller and route, against a real facade: 429 with Retry-After and the
RateLimit-* fields, callers kept apart, and a caller let in again once its bucket refills."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import identity
import pytest
from facades import facade_for, whoami_route

KEYS = {name: f"key-{name}-" + "9" * 32 for name in ("alice", "bob")}


MAPPINGS = {
    "slow": whoami_route("/v1/slow"),  # facade.yaml's default: 2 at once, one per 100 s
    "quick": whoami_route("/v1/quick", rate_limit={"rate": 2, "burst": 1}),
    "tuned": whoami_route("/v1/tuned", rate_limit={"rate": 2, "burst": 1}),  # facade.yaml wins
    "free": whoami_route("/v1/free", rate_limit="off", auth="public"),
    "anonymous": whoami_route("/v1/anonymous", auth="public"),
    "guarded": whoami_route("/v1/guarded"),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    keys = [
        {"name": name, "sha256": identity.sha256(key), "scopes": []} for name, key in KEYS.items()
    ]
    config = {
        "auth": {"api_keys": {"keys": keys}},
        "rate_limits": {
            "default": {"rate": 0.01, "burst": 2},
            "routes": {"tuned": {"rate": 0.01, "burst": 3}},
        },
    }
    folder = tmp_path_factory.mktemp("limits") / "mappings"
    folder.mkdir()
    with facade_for(folder, MAPPINGS, {}, config=config) as url:
        yield url


def get(base: str, path: str, caller: str | None = "alice") -> httpx.Response:
    headers = {"x-api-key": KEYS[caller]} if caller else {}
    return httpx.get(base + path, headers=headers)


def test_the_bucket_empties_into_429_with_retry_after_and_ratelimit_fields(base: str) -> None:
    first, second, third = (get(base, "/v1/slow/1") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first.headers["ratelimit-limit"] == "2"
    assert first.headers["ratelimit-remaining"] == "1"
    assert second.headers["ratelimit-remaining"] == "0"
    assert third.headers["content-type"] == "application/problem+json"
    assert third.json()["type"] == "urn:facade:problem:too-many-requests"
    assert third.headers["ratelimit-remaining"] == "0"
    assert 90 <= int(third.headers["retry-after"]) <= 100  # one token per 100 s
    assert 190 <= int(third.headers["ratelimit-reset"]) <= 200  # two tokens to full


def test_callers_have_buckets_of_their_own(base: str) -> None:
    while get(base, "/v1/slow/2", "alice").status_code == 200:
        pass
    assert get(base, "/v1/slow/2", "bob").status_code == 200


def test_routes_have_buckets_of_their_own(base: str) -> None:
    while get(base, "/v1/slow/3", "bob").status_code == 200:
        pass
    assert get(base, "/v1/tuned/3", "bob").status_code == 200


def test_facade_yaml_routes_entry_wins_over_the_mapping(base: str) -> None:
    statuses = [get(base, "/v1/tuned/4", "alice").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_rate_limit_off_is_unlimited(base: str) -> None:
    statuses = {get(base, "/v1/free/5", None).status_code for _ in range(10)}
    assert statuses == {200}
    assert "ratelimit-limit" not in get(base, "/v1/free/5", None).headers


def test_anonymous_callers_are_limited_by_address(base: str) -> None:
    statuses = [get(base, "/v1/anonymous/6", None).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert get(base, "/v1/anonymous/6", "alice").status_code == 200  # a principal: its own


def test_a_caller_is_let_in_again_once_its_bucket_refills(base: str) -> None:
    refused = None
    for _ in range(20):  # rate 2/s, burst 1: quick calls empty the bucket
        answer = get(base, "/v1/quick/7", "bob")
        if answer.status_code == 429:
            refused = answer
            break
    assert refused is not None
    time.sleep(int(refused.headers["retry-after"]))
    assert get(base, "/v1/quick/7", "bob").status_code == 200


def test_refused_credentials_spend_their_addresses_bucket(base: str) -> None:
    bad = {"x-api-key": "guess-" + "1" * 30}
    statuses = [httpx.get(base + "/v1/guarded/8", headers=bad).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]  # guessing keys is limited like an anonymous caller
    assert get(base, "/v1/guarded/8", "alice").status_code == 200  # a valid key: its own


def test_a_mappings_own_rate_limit_applies_without_a_settings_file(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    mappings = {"own": whoami_route("/v1/own", rate_limit={"rate": 0.01, "burst": 2})}
    with facade_for(folder, mappings, {}) as url:
        statuses = [httpx.get(url + "/v1/own/1").status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert httpx.get(url + "/v1/own/1").headers["ratelimit-limit"] == "2"
