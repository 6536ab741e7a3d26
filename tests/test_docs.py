"""The docs pages and their assets come from the facade itself; GET / points to /docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from servers import serve_in_thread

from facade.app import create_app
from facade.docs import _asset
from facade.mapping.loader import load_mappings
from facade.paths import DOCS_ASSETS, RESERVED_PATHS
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(ROOT / "mappings"), registry)
    with serve_in_thread(create_app(table, registry)) as url, httpx.Client(base_url=url) as c:
        yield c


def test_root_redirects_to_docs(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/docs"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_load_nothing_from_elsewhere(client: httpx.Client, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert "/docs/assets/" in response.text
    assert "https://" not in response.text and "http://" not in response.text


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("redoc.standalone.js", "text/javascript"),
        ("favicon.png", "image/png"),
    ],
)
def test_assets_are_served(client: httpx.Client, name: str, media_type: str) -> None:
    response = client.get(f"/docs/assets/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert len(response.content) > 500


def test_every_asset_path_is_reserved_from_mappings() -> None:
    assert "/" in RESERVED_PATHS
    assert all(f"/docs/assets/{name}" in RESERVED_PATHS for name in DOCS_ASSETS)


def test_a_missing_asset_fails_at_startup(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="reinstall the fastapi-offline package"):
        _asset(tmp_path / "swagger-ui-bundle.js")


def test_unknown_asset_is_a_problem_404(client: httpx.Client) -> None:
    response = client.get("/docs/assets/nothing.js")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
