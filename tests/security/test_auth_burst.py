"""1,000 requests at once from 100 principals through authentication and rate limiting, on
the facade as a real process (`facade serve --config`): every answer is the right one.

Each principal has a bucket of 5 on the route and sends 10 requests: exactly 5 of them must
be admitted and 5 refused with 429, whatever the interleaving. Nothing here is timed.
"""

from __future__ import annotations

import asyncio
import collections
import os
from pathlib import Path
from typing import Any

import aiohttp
import identity
import orjson
import pytest
import yaml
from bursts import open_files
from facades import whoami_route
from processes import free_port, process

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent.parent
PRINCIPALS = 100
EACH = 10
BURST = 5


@pytest.fixture(autouse=True)
def _enough_file_descriptors() -> None:
    open_files(3 * PRINCIPALS * EACH)


def write_facade(tmp_path: Path) -> tuple[Path, Path]:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    mapping = whoami_route("/v1/whoami", auth={"scopes": ["customers:read"]})
    (mappings / "whoami.yaml").write_text(yaml.safe_dump(mapping), encoding="utf-8")
    (tmp_path / "jwks.json").write_bytes(orjson.dumps(identity.jwks("k1")))
    config = {
        "auth": {
            "jwt": {
                "jwks_file": "jwks.json",
                "issuer": identity.ISSUER,
                "audience": identity.AUDIENCE,
            }
        },
        "rate_limits": {"default": {"rate": 0.001, "burst": BURST}},
    }
    (tmp_path / "facade.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return mappings, tmp_path / "facade.yaml"


async def burst(base: str, tokens: dict[str, str]) -> dict[str, collections.Counter[Any]]:
    """Every principal's EACH requests, all started at once, one connection each."""
    seen: dict[str, collections.Counter[Any]] = {sub: collections.Counter() for sub in tokens}

    async def one(session: aiohttp.ClientSession, sub: str) -> None:
        headers = {"authorization": f"Bearer {tokens[sub]}"}
        try:
            async with session.get(f"{base}/v1/whoami/1", headers=headers) as response:
                body = await response.json(content_type=None)
                ok = response.status != 200 or body["principal"]["sub"] == sub
                seen[sub][response.status if ok else "wrong principal"] += 1
        except aiohttp.ClientError as exc:
            seen[sub][type(exc).__name__] += 1

    timeout = aiohttp.ClientTimeout(total=180)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(one(session, sub) for sub in tokens for _ in range(EACH)))
    return seen


def test_a_thousand_requests_from_many_principals_are_all_answered_right(
    tmp_path: Path,
) -> None:
    mappings, config = write_facade(tmp_path)
    tokens = {f"user-{i}": identity.token(sub=f"user-{i}") for i in range(PRINCIPALS)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--port", str(port), "--mappings", str(mappings), "--wsdl", "wsdl"]
    env = {"PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    with process([*args, "--config", str(config), "--log-level", "warning"], f"{base}/readyz", env):
        seen = asyncio.run(burst(base, tokens))
    wrong = {sub: dict(c) for sub, c in seen.items() if c != {200: BURST, 429: EACH - BURST}}
    assert wrong == {}
