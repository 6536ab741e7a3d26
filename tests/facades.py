"""A facade for a few mappings, served under uvicorn on loopback, and what its /metrics say.

with facade_for(folder, {"get-customer": document}, {"NEW_URL": peer}) as base_url:
    httpx.get(base_url + "/v1/customers/1")
    sample(base_url, "facade_cache_total", 'result="hit",route="get-customer"')
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from servers import serve_in_thread

from facade.app import create_app
from facade.cache.store import CacheStore
from facade.config.loader import FacadeConfig, load_config, with_legacy_defaults
from facade.mapping.loader import load_mappings
from facade.routetable import build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def facade_for(
    folder: Path,
    mappings: Mapping[str, dict[str, Any]],
    env: Mapping[str, str],
    settings: Settings | None = None,
    config: dict[str, Any] | None = None,
    store: CacheStore | None = None,
    **server: Any,
) -> Iterator[str]:
    """`config` is the content of a facade.yaml, written beside the mappings folder; its
    per-WSDL credentials apply to the routes as `facade serve` applies them. `store` keeps
    the cached answers (a MemoryStore unless given). `server` goes to uvicorn's Config
    (`timeout_keep_alive=1`)."""
    for name, document in mappings.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    loaded = None
    if config is not None:
        (folder.parent / "facade.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        loaded = load_config(folder.parent / "facade.yaml", env)
    registry = WsdlRegistry(ROOT / "wsdl")
    routes = with_legacy_defaults(load_mappings(folder, env), loaded or FacadeConfig())
    table = build_route_table(routes, registry)
    app = create_app(table, registry, settings, config=loaded, store=store)
    with serve_in_thread(app, **server) as url:
        yield url


def sample(base_url: str, name: str, labels: str) -> float:
    """One sample's value on the facade's /metrics (`labels` as they are written there,
    in order: `route="r",side="legacy"`); 0 when it has none yet."""
    text = httpx.get(f"{base_url}/metrics").text
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def legacy(operation: str, request: dict[str, str], **more: Any) -> dict[str, Any]:
    """A legacy section of the demo CRM WSDL whose backend is never called here."""
    return {
        "wsdl": "crm.wsdl",
        "operation": operation,
        "address": "http://127.0.0.1:9/crm",
        "request": request,
        **more,
    }


def whoami_route(path: str, **more: Any) -> dict[str, Any]:
    """A mapping of `GET {path}/{id}` served in mode new by `new_handlers:whoami`, which
    answers with the principal the gate let through; `more` adds sections (auth,
    rate_limit)."""
    return {
        "route": {"method": "GET", "path": path + "/{id}"},
        "legacy": legacy("GetCustomer", {"CustomerId": "path.id"}),
        "new": {"handler": "new_handlers:whoami"},
        "migration": {"mode": "new", "fallback": False},
        **more,
    }


ONE_CALL_EACH = Settings(retry_attempts=1, breaker=False)
"""For tests that count backend calls per request, or share one facade across tests that
make a backend fail on purpose: no retries, and no breaker carrying failures over."""
