"""The API docs pages in a real headless Chromium: they render the routes' operations with
no request leaving 127.0.0.1 (the facade often runs where no CDN can be reached)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, headless_chromium
from servers import serve_in_thread

from facade.app import create_app
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent.parent
LOCAL_SCHEMES = ("data:", "blob:", "about:")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    registry = WsdlRegistry(ROOT / "wsdl")
    table = build_route_table(load_mappings(ROOT / "mappings"), registry)
    with serve_in_thread(create_app(table, registry)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with headless_chromium() as chromium:
        yield chromium


def _only_loopback(requested: list[str], base_url: str) -> list[str]:
    """The requested URLs that went anywhere but the facade under test."""
    return [u for u in requested if not u.startswith((base_url + "/", *LOCAL_SCHEMES))]


def test_swagger_ui_lists_the_operations_offline(base_url: str, browser: Browser) -> None:
    with browser.open(f"{base_url}/docs") as page:
        paths = page.wait_for(
            "Array.from(document.querySelectorAll('.opblock-summary-path'))"
            ".map(e => e.textContent.replace(/\\u200b/g, ''))"
        )
        assert "/v1/customers/{id}" in paths
        assert "/v1/orders/{id}" in paths
        assert _only_loopback(page.requested, base_url) == []
        assert f"{base_url}/openapi.json" in page.requested


def test_redoc_lists_the_operations_offline(base_url: str, browser: Browser) -> None:
    with browser.open(f"{base_url}/redoc") as page:
        text = page.wait_for(
            "document.querySelector('[data-section-id^=\"operation/\"]') && document.body.innerText"
        )
        assert "Get one customer" in text
        assert _only_loopback(page.requested, base_url) == []


def test_the_root_leads_to_the_docs(base_url: str, browser: Browser) -> None:
    with browser.open(f"{base_url}/") as page:
        page.wait_for("document.querySelectorAll('.opblock').length > 0")
        assert page.evaluate("location.pathname") == "/docs"
