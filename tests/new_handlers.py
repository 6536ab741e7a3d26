"""In-process new implementations that the tests' mappings name (`new_handlers:...`)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from facade.context import RequestContext
from facade.errors import RouteNotFound

SLOW_SECONDS = 0.5
seen_threads: list[str] = []


def sync_customer(context: RequestContext) -> dict[str, Any]:
    """Blocks like a database call would; it must run off the event loop."""
    seen_threads.append(threading.current_thread().name)
    time.sleep(SLOW_SECONDS if context.query.get("slow") else 0)
    return {"id": int(context.path["id"]), "name": "Sync", "balance": "1.00"}


async def async_customer(context: RequestContext) -> dict[str, Any]:
    if context.path["id"] == "404":
        raise RouteNotFound(f"No customer {context.path['id']}")
    if context.path["id"] == "500":
        raise RuntimeError("database password=hunter2 at db-01.internal")
    if context.path["id"] == "999":
        await asyncio.sleep(5)
    if context.path["id"] == "777":
        return {"id": 777, "name": {1, 2}}  # a set is not JSON
    return {
        "id": int(context.path["id"]),
        "name": context.headers.get("x-user-id", "Async"),
        "balance": "2.00",
    }


NOT_CALLABLE = 42


async def whoami(context: RequestContext) -> dict[str, Any]:
    """Echoes who the facade says the caller is, and the route's path id."""
    return {"id": context.path.get("id"), "principal": context.principal}
