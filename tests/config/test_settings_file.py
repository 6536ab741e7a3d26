"""facade.yaml: read, expanded from the environment, every problem with its file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import identity
import orjson
import pytest
import yaml

from facade.auth.policy import PUBLIC, BucketSpec, Requirement
from facade.config.loader import FacadeConfig, config_path, config_problems, load_config
from facade.errors import ConfigError
from facade.mapping.loader import load_mappings

DIGEST = "a" * 64
ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "facade.yaml"
    path.write_text(yaml.safe_dump(document) if not isinstance(document, str) else document)
    return path


def problems(tmp_path: Path, document: Any, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, document), env or {})
    return [
        str(p).removeprefix(str(tmp_path / "facade.yaml") + ": ") for p in caught.value.problems
    ]


def test_no_file_is_the_defaults() -> None:
    assert load_config(None) == FacadeConfig()


def test_the_path_comes_from_the_option_then_the_environment() -> None:
    assert config_path(Path("a.yaml"), {"FACADE_CONFIG": "b.yaml"}) == Path("a.yaml")
    assert config_path(None, {"FACADE_CONFIG": "b.yaml"}) == Path("b.yaml")
    assert config_path(None, {}) is None


def test_a_full_file_is_read_with_environment_expansion(tmp_path: Path) -> None:
    document = {
        "auth": {
            "realm": "crm",
            "default": "public",
            "jwt": {"jwks_url": "${IDP:-http://127.0.0.1:1}/jwks", "audience": "a"},
            "api_keys": {"header": "X-Key", "keys": [{"name": "r", "sha256": DIGEST.upper()}]},
        },
        "rate_limits": {"default": {"rate": 5, "burst": 10}, "routes": {"x": "off"}},
        "limits": {"max_body_bytes": 2048, "max_headers": 50},
    }
    config = load_config(write(tmp_path, document), {"IDP": "https://id.example"})
    assert config.auth is not None and config.auth.jwt is not None
    assert config.auth.jwt.jwks_url == "https://id.example/jwks"
    assert config.auth.jwt.algorithms == ("RS256",)
    assert config.auth.default == PUBLIC
    assert config.auth.api_keys is not None
    assert config.auth.api_keys.header == "x-key"
    assert set(config.auth.api_keys.holders) == {DIGEST}
    assert config.rate_limits.default == BucketSpec(5, 10)
    assert config.rate_limits.routes == {"x": "off"}
    assert config.limits.max_body_bytes == 2048
    assert config.limits.max_headers == 50


def test_auth_default_is_any_authenticated_caller(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, {"auth": {"api_keys": {}}}), {})
    assert config.auth is not None and config.auth.default == Requirement()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"auth": {"jwt": {"jwks_url": "https://x", "algorithms": ["HS256"]}}},
            "auth.jwt.algorithms: 'HS256' is refused",
        ),
        (
            {"auth": {"jwt": {"jwks_url": "https://x", "algorithms": ["none"]}}},
            "auth.jwt.algorithms: 'none' is refused",
        ),
        (
            {"auth": {"jwt": {"jwks_url": "https://x", "algorithms": ["XY1"]}}},
            "auth.jwt.algorithms.0: is 'XY1'",
        ),
        ({"auth": {"jwt": {}}}, "auth.jwt: give exactly one of jwks_url or jwks_file"),
        (
            {"auth": {"jwt": {"jwks_url": "file:///etc/passwd"}}},
            "auth.jwt: jwks_url 'file:///etc/passwd' must be an http(s) URL",
        ),
        ({"auth": {"jwt": {"jwks_file": "missing.json"}}}, "auth.jwt.jwks_file: "),
        ({"auth": {"jwt": {"jwks_file": "."}}}, "auth.jwt.jwks_file: "),
        ({"auth": {}}, "auth: configure jwt, api_keys or both"),
        (
            {"auth": {"api_keys": {"keys": [{"name": "a", "sha256": "secret"}]}}},
            "auth.api_keys.keys.0.sha256: must be 64 hex digits",
        ),
        (
            {"auth": {"api_keys": {"header": "Authorization"}}},
            "auth.api_keys.header: authorization carries bearer tokens",
        ),
        (
            {
                "auth": {
                    "api_keys": {
                        "keys": [{"name": "a", "sha256": DIGEST}, {"name": "a", "sha256": "b" * 64}]
                    }
                }
            },
            "auth.api_keys: two keys have the same name",
        ),
        (
            {"auth": {"api_keys": {}, "colour": 1}},
            "auth.colour: unknown key; allowed here: realm, default, jwt, api_keys",
        ),
        ({"auth": {"api_keys": {}, "realm": 'a"b'}}, "auth.realm: must be non-empty text"),
        (
            {"rate_limits": {"default": {"rate": 0, "burst": 1}}},
            "rate_limits.default.rate: Input should be greater than 0",
        ),
        (
            {"rate_limits": {"routes": {"Bad Name": "off"}}},
            "rate_limits.routes: 'Bad Name' is not a route name",
        ),
        (
            {"limits": {"max_header_bytes": 10}},
            "limits.max_header_bytes: Input should be greater than or equal to 1024",
        ),
        (
            {"limits": {"drain_seconds": "${MISSING}"}},
            "limits.drain_seconds: environment variable MISSING is not set",
        ),
        (
            {"auth": {"api_keys": {}, "default": {"scopes": ['a"b']}}},
            "auth.default.RouteAuth.scopes: 'a\"b' is not a scope",
        ),
        ("auth: [", "is not valid YAML"),
        ("", "is empty; a settings file needs auth, rate_limits, limits or legacy"),
    ],
)
def test_each_problem_names_its_field(tmp_path: Path, document: Any, expected: str) -> None:
    found = problems(tmp_path, document)
    assert any(p.startswith(expected) for p in found), found


def test_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.yaml", {})
    assert str(caught.value) == f"{tmp_path / 'nope.yaml'}: does not exist (see --config)"


def test_a_jwks_file_that_holds_no_usable_key_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text('{"keys": []}')
    found = problems(tmp_path, {"auth": {"jwt": {"jwks_file": "keys.json"}}})
    assert found == [
        f"auth.jwt.jwks_file: {tmp_path / 'keys.json'} is not a usable JWKS: PyJWKSetError"
    ]


def test_a_jwks_file_is_found_beside_the_settings_file(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_bytes(orjson.dumps(identity.jwks("k1")))
    config = load_config(write(tmp_path, {"auth": {"jwt": {"jwks_file": "keys.json"}}}), {})
    assert config.auth is not None and config.auth.jwt is not None
    assert config.auth.jwt.jwks_file == tmp_path / "keys.json"


def mapping(tmp_path: Path, **more: Any) -> Path:
    folder = tmp_path / "mappings"
    folder.mkdir(exist_ok=True)
    document = {
        "route": {"method": "GET", "path": "/x/{id}"},
        "legacy": {"wsdl": "crm.wsdl", "operation": "GetCustomer", **more.pop("legacy", {})},
        **more,
    }
    (folder / "get-x.yaml").write_text(yaml.safe_dump(document))
    return folder


def test_settings_and_mappings_are_checked_together(tmp_path: Path) -> None:
    routes = load_mappings(mapping(tmp_path, auth={"scopes": ["a"]}), {})
    config = load_config(write(tmp_path, {"rate_limits": {"routes": {"get-y": "off"}}}), {})
    found = [str(p) for p in config_problems(config, routes)]
    assert found == [
        f"{tmp_path / 'facade.yaml'}: rate_limits.routes.get-y: no route is named 'get-y' "
        "(routes: get-x)",
        f"{tmp_path / 'mappings' / 'get-x.yaml'}: auth: the route requires authenticated "
        "callers, but no authentication is configured: add an auth section to facade.yaml "
        "(see --config) or say auth: public",
    ]


def test_a_public_route_needs_no_auth_section(tmp_path: Path) -> None:
    routes = load_mappings(mapping(tmp_path, auth="public"), {})
    assert config_problems(FacadeConfig(), routes) == []


def test_the_mapping_auth_and_rate_limit_are_read(tmp_path: Path) -> None:
    [route] = load_mappings(
        mapping(tmp_path, auth={"scopes": ["a", "b"]}, rate_limit={"rate": 1, "burst": 2}), {}
    )
    assert route.auth == Requirement(scopes=("a", "b"))
    assert route.rate_limit == BucketSpec(1, 2)


def test_a_wrong_mapping_auth_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_mappings(mapping(tmp_path, auth="private"), {})
    assert any(p.field.startswith("auth") for p in caught.value.problems)
