"""A burst of large and small replies at once against the facade as a real process.

Large replies are read as they are parsed, in the translator process (which runs at a lower
priority than the server); small ones on the server's loop. Every answer must be the exact
JSON the zeep path gives for its reply, and /healthz must keep answering. No duration is
asserted: the large route's timeout is long enough for a shared machine.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from bursts import health_probe, open_files
from large_replies import indented, orders_xml
from processes import free_port, process
from servers import REPLY, request_body, serve_in_thread

from facade.backends.legacy_reply import STREAMING_BYTES, translate_reply
from facade.mapping.loader import load_mappings
from facade.net import Reply
from facade.routetable import build_route_table
from facade.soap.registry import WsdlRegistry

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
SMALL, LARGE = 300, 40
ORDERS = 1_500
XML = [(b"content-type", b"text/xml; charset=utf-8")]
LARGE_REPLY = indented(orders_xml(ORDERS)).encode()


@pytest.fixture(autouse=True)
def _enough_file_descriptors() -> None:
    open_files(4 * (SMALL + LARGE))


async def crm(scope: Any, receive: Any, send: Any) -> None:
    """ListOrders gets the large reply, every other call the GetCustomer one."""
    if scope["type"] != "http":
        return
    body = await request_body(receive)
    reply = LARGE_REPLY if b"ListOrders" in body else REPLY
    await send({"type": "http.response.start", "status": 200, "headers": XML})
    await send({"type": "http.response.body", "body": reply})


def expected_orders() -> bytes:
    """The list-orders answer as the zeep path gives it for the large reply."""
    mappings = [m for m in load_mappings(ROOT / "mappings") if m.name == "list-orders"]
    [route] = build_route_table(mappings, WsdlRegistry(ROOT / "wsdl"))
    return orjson.dumps(translate_reply(replace(route, reader=None), Reply(200, {}, LARGE_REPLY)))


@contextmanager
def facade(address: str, tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "mappings"
    folder.mkdir()
    for source, timeout in (("customers/get-customer.yaml", 30), ("orders/list-orders.yaml", 300)):
        mapping = yaml.safe_load((ROOT / "mappings" / source).read_text())
        mapping["legacy"]["address"] = address
        mapping["legacy"]["timeout"] = timeout  # queued behind 39 others on a busy machine
        mapping.pop("new", None)
        (folder / Path(source).name).write_text(yaml.safe_dump(mapping), encoding="utf-8")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--mappings", str(folder), "--log-level", "warning"]
    with process([*args, "--wsdl", str(ROOT / "wsdl")], f"{base}/readyz"):
        yield base


async def burst(base: str) -> tuple[collections.Counter[Any], list[int]]:
    """SMALL and LARGE GETs at once, one connection each, while a probe polls /healthz;
    counts each answer as right or wrong."""
    seen: collections.Counter[Any] = collections.Counter()
    orders = expected_orders()

    async def one(session: aiohttp.ClientSession, path: str) -> None:
        try:
            async with session.get(base + path) as response:
                content = await response.read()
        except aiohttp.ClientError as exc:
            seen[type(exc).__name__] += 1
            return
        if response.status != 200:
            seen[response.status] += 1
        elif path.endswith("/orders"):
            seen["orders right" if content == orders else "orders wrong"] += 1
        else:
            right = orjson.loads(content)["Name"] == "Ada Lovelace"
            seen["customer right" if right else "customer wrong"] += 1

    timeout = aiohttp.ClientTimeout(total=600)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    paths = ["/v1/customers/1"] * SMALL + ["/v1/customers/1/orders"] * LARGE
    async with health_probe(base) as health:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await asyncio.gather(*(one(session, path) for path in paths))
    return seen, health


def test_a_burst_of_large_and_small_replies_is_answered_exactly(tmp_path: Path) -> None:
    assert len(LARGE_REPLY) >= STREAMING_BYTES  # read as it is parsed
    with serve_in_thread(crm) as backend, facade(f"{backend}/crm", tmp_path) as base:
        seen, health = asyncio.run(burst(base))
    assert seen == {"customer right": SMALL, "orders right": LARGE}
    assert health and set(health) == {200}
