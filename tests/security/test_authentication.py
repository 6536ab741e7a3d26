"""Bearer tokens and API keys against a real facade: who gets in, who gets 401 or 403.

The facade fetches its keys from a JWKS served by pytest-httpserver; the routes are served
by an in-process handler that echoes the principal the facade hands it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import identity
import orjson
import pytest
from facades import facade_for, whoami_route
from pytest_httpserver import HTTPServer
from servers import PromptHTTPServer
from werkzeug import Request, Response

API_KEY = "k-" + "7" * 40


MAPPINGS = {
    "whoami": whoami_route("/v1/whoami"),
    "writer": whoami_route("/v1/writer", auth={"scopes": ["customers:write"]}),
    "open": whoami_route("/v1/open", auth="public"),
}


class Jwks:
    """The identity provider's JWKS endpoint; `kids` is what it publishes right now."""

    def __init__(self) -> None:
        self.kids = ["k1"]
        self.fetches = 0

    def __call__(self, request: Request) -> Response:
        self.fetches += 1
        body = orjson.dumps(identity.jwks(*self.kids))
        return Response(body, content_type="application/json")


@pytest.fixture(scope="module")
def provider() -> Iterator[tuple[HTTPServer, Jwks]]:
    server = PromptHTTPServer(host="127.0.0.1", port=0)
    jwks = Jwks()
    server.expect_request("/jwks").respond_with_handler(jwks)
    server.start()
    try:
        yield server, jwks
    finally:
        server.stop()


@pytest.fixture(scope="module")
def base(
    provider: tuple[HTTPServer, Jwks], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    server, _ = provider
    config = {
        "auth": {
            "jwt": {
                "jwks_url": "${JWKS_URL}",
                "issuer": identity.ISSUER,
                "audience": identity.AUDIENCE,
                "algorithms": ["RS256"],
                "leeway": 30,
                "refresh": 3600,
                "min_refresh": 0,
                "claims": ["email"],
            },
            "api_keys": {
                "keys": [{"name": "reporting", "sha256": identity.sha256(API_KEY), "scopes": ["x"]}]
            },
        }
    }
    env = {"JWKS_URL": server.url_for("/jwks")}
    folder = tmp_path_factory.mktemp("auth") / "mappings"
    folder.mkdir()
    with facade_for(folder, MAPPINGS, env, config=config) as url:
        yield url


def get(base: str, path: str, token: str | None = None, **headers: str) -> httpx.Response:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return httpx.get(base + path, headers=headers)


def refused(response: httpx.Response, status: int = 401) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.headers["www-authenticate"]


def test_a_valid_token_admits_and_its_principal_reaches_the_handler(base: str) -> None:
    answer = get(base, "/v1/whoami/7", identity.token(email="ada@example.com", tenant="t9"))
    assert answer.status_code == 200
    assert answer.json()["principal"] == {
        "sub": "user-1",
        "scopes": ["customers:read"],
        "via": "jwt",
        "claims": {"email": "ada@example.com"},  # tenant is not listed in jwt.claims
    }


def test_no_credentials_is_401_with_both_challenges(base: str) -> None:
    challenge = refused(get(base, "/v1/whoami/7"))
    assert challenge == 'Bearer realm="facade", ApiKey realm="facade", header="x-api-key"'


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": -120}, "The token has expired"),  # seconds from now, past the leeway
        ({"nbf": 120}, "The token is not valid yet"),
        ({"iss": "https://evil.example/"}, "The token's issuer is not accepted"),
        ({"aud": "another-api"}, "The token is not meant for this audience"),
        ({"exp": None}, "The token lacks a required claim"),
        ({"sub": None}, "The token names no subject (sub)"),
    ],
)
def test_a_token_that_does_not_pass_is_401_saying_why(
    base: str, overrides: dict[str, Any], reason: str
) -> None:
    now = int(time.time())  # times are made here: collection may be minutes earlier
    relative = {
        k: now + v if k in ("exp", "nbf") and v is not None else v for k, v in overrides.items()
    }
    answer = get(base, "/v1/whoami/7", identity.token(**relative))
    challenge = refused(answer)
    assert challenge == (
        f'Bearer realm="facade", error="invalid_token", error_description="{reason}"'
    )
    assert answer.json()["detail"] == reason


def test_clock_skew_within_the_leeway_is_accepted(base: str) -> None:
    now = int(time.time())
    assert get(base, "/v1/whoami/7", identity.token(exp=now - 10)).status_code == 200
    assert get(base, "/v1/whoami/7", identity.token(nbf=now + 10)).status_code == 200


def test_alg_none_is_refused(base: str) -> None:
    answer = get(base, "/v1/whoami/7", identity.unsigned_none())
    refused(answer)
    assert "algorithm is not accepted" in answer.json()["detail"]


def test_hs256_signed_with_the_public_key_is_refused(base: str) -> None:
    answer = get(base, "/v1/whoami/7", identity.forged_hs256())
    refused(answer)
    assert "algorithm is not accepted" in answer.json()["detail"]


def test_a_bad_signature_is_refused(base: str) -> None:
    header, payload, _ = identity.token().split(".")
    other = identity.token(kid="k2").split(".")[2]  # k2's signature over other claims
    answer = get(base, "/v1/whoami/7", f"{header}.{payload}.{other}")
    refused(answer)
    assert answer.json()["detail"] == "The token's signature does not verify"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        "W10.e30.c2ln",  # a header that is a list
        "eyJhbGciOiJSUzI1NiJ9.e30",  # two segments
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.!!!.c2ln",  # a payload that is not base64url
    ],
)
def test_a_malformed_token_is_refused(base: str, token: str) -> None:
    answer = get(base, "/v1/whoami/7", token)
    refused(answer)
    assert answer.json()["detail"] == "The token is malformed"


def test_an_unknown_kid_is_refused_and_a_rotated_key_is_fetched(
    base: str, provider: tuple[HTTPServer, Jwks]
) -> None:
    _, jwks = provider
    rotated = identity.token(kid="k2")
    answer = get(base, "/v1/whoami/7", rotated)
    refused(answer)
    assert answer.json()["detail"] == "The token's signing key is not known"
    jwks.kids = ["k1", "k2"]  # the provider rotates: k2 is published
    before = jwks.fetches
    try:
        assert get(base, "/v1/whoami/7", rotated).status_code == 200
        assert jwks.fetches == before + 1
    finally:
        jwks.kids = ["k1"]


def test_keys_are_never_fetched_from_the_tokens_jku(base: str) -> None:
    attacker = PromptHTTPServer(host="127.0.0.1", port=0)
    attacker.expect_request("/keys").respond_with_json(identity.jwks("k2"))
    attacker.start()
    try:
        forged = identity.jwt.encode(
            identity.claims(),
            identity.KEYS["k2"],
            algorithm="RS256",
            headers={"kid": "evil", "jku": attacker.url_for("/keys")},
        )
        refused(get(base, "/v1/whoami/7", forged))
        assert attacker.log == []
    finally:
        attacker.stop()


def test_missing_scope_is_403_naming_it(base: str) -> None:
    answer = get(base, "/v1/writer/7", identity.token(scope="customers:read"))
    challenge = refused(answer, 403)
    assert challenge == 'Bearer realm="facade", error="insufficient_scope", scope="customers:write"'
    assert answer.json()["detail"] == "This route needs the scope customers:write"


def test_holding_the_scope_admits(base: str) -> None:
    token = identity.token(scope=["customers:read", "customers:write"])
    assert get(base, "/v1/writer/7", token).status_code == 200


def test_a_public_route_admits_anonymous_callers(base: str) -> None:
    answer = get(base, "/v1/open/7")
    assert answer.status_code == 200
    assert answer.json()["principal"] is None


def test_a_public_route_still_refuses_a_bad_token(base: str) -> None:
    refused(get(base, "/v1/open/7", identity.token(exp=int(time.time()) - 3600)))


def test_a_valid_api_key_admits(base: str) -> None:
    answer = get(base, "/v1/whoami/7", **{"x-api-key": API_KEY})
    assert answer.status_code == 200
    assert answer.json()["principal"] == {
        "sub": "reporting",
        "scopes": ["x"],
        "via": "api_key",
        "claims": {},
    }


def test_an_invalid_api_key_is_401(base: str) -> None:
    answer = get(base, "/v1/whoami/7", **{"x-api-key": API_KEY + "x"})
    assert refused(answer) == 'ApiKey realm="facade", header="x-api-key", error="invalid_key"'
    assert API_KEY not in answer.text


def test_an_api_key_without_the_scope_is_403(base: str) -> None:
    refused(get(base, "/v1/writer/7", **{"x-api-key": API_KEY}), 403)


def test_health_metrics_and_docs_keep_their_own_rules(base: str) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert httpx.get(base + path).status_code == 200, path
