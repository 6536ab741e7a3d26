"""What authentication and rate limiting cost per request, as ratios measured in one run.

    PYTHONPATH=.:tests .venv/bin/python bench/auth_overhead.py [--requests 3000]

One facade under uvicorn in this process, a route served by an in-process handler (no
backend), `--requests` GETs at 64 in flight over keep-alive connections, four ways: no
settings file, API keys, JWT (RS256 via a JWKS file), JWT plus a rate limit that never
refuses. Prints req/s and p50/p99 per way and each way's throughput relative to none; then
the in-process cost of one RS256 check, one API key check and one bucket take.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import identity
import orjson
from facades import facade_for, legacy

from facade.auth.authenticator import Authenticator
from facade.auth.jwks import JwksKeys
from facade.auth.policy import BucketSpec, Requirement
from facade.auth.ratelimit import MemoryBuckets
from facade.auth.tokens import TokenVerifier
from facade.config.loader import load_config

KEY = "bench-key-" + "5" * 30
IN_FLIGHT = 64
MAPPING = {
    "route": {"method": "GET", "path": "/v1/whoami/{id}"},
    "legacy": legacy("GetCustomer", {"CustomerId": "path.id"}),
    "new": {"handler": "new_handlers:whoami"},
    "migration": {"mode": "new", "fallback": False},
}


def configs(folder: Path) -> dict[str, dict[str, Any] | None]:
    (folder / "jwks.json").write_bytes(orjson.dumps(identity.jwks("k1")))
    jwt = {"jwks_file": str(folder / "jwks.json"), "issuer": identity.ISSUER}
    jwt["audience"] = identity.AUDIENCE
    keys = {"keys": [{"name": "bench", "sha256": identity.sha256(KEY)}]}
    never = {"default": {"rate": 1e9, "burst": 1_000_000}}
    return {
        "none": None,
        "api key": {"auth": {"api_keys": keys}},
        "jwt": {"auth": {"jwt": jwt}},
        "jwt + rate limit": {"auth": {"jwt": jwt}, "rate_limits": never},
    }


async def load(base: str, requests: int, headers: dict[str, str]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(range(requests))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in queue:
            started = time.perf_counter()
            async with session.get(f"{base}/v1/whoami/1", headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(IN_FLIGHT)))
    return time.perf_counter() - started, latencies


def over_http(requests: int) -> None:
    token = identity.token(exp=int(time.time()) + 3600)
    headers = {
        "none": {},
        "api key": {"x-api-key": KEY},
        "jwt": {"authorization": f"Bearer {token}"},
        "jwt + rate limit": {"authorization": f"Bearer {token}"},
    }
    rates: dict[str, float] = {}
    print(f"{'way':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs none':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for way, config in configs(Path(tmp)).items():
            folder = Path(tmp) / way.replace(" ", "-").replace("+", "")
            (folder / "mappings").mkdir(parents=True)
            with facade_for(folder / "mappings", {"whoami": MAPPING}, {}, config) as base:
                asyncio.run(load(base, 200, headers[way]))  # warm up
                seconds, latencies = asyncio.run(load(base, requests, headers[way]))
            rates[way] = requests / seconds
            cuts = statistics.quantiles(latencies, n=100)
            ratio = rates[way] / rates["none"]
            print(
                f"{way:<18} {rates[way]:>8.0f} {cuts[49] * 1e3:>8.2f} {cuts[98] * 1e3:>8.2f} "
                f"{ratio:>8.2f}"
            )


def in_process(rounds: int = 2000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "jwks.json").write_bytes(orjson.dumps(identity.jwks("k1")))
        (folder / "facade.yaml").write_text(
            orjson.dumps(
                {
                    "auth": {
                        "jwt": {"jwks_file": "jwks.json", "audience": identity.AUDIENCE},
                        "api_keys": {"keys": [{"name": "b", "sha256": identity.sha256(KEY)}]},
                    }
                }
            ).decode()
        )
        auth = load_config(folder / "facade.yaml", {}).auth
        assert auth is not None and auth.jwt is not None and auth.jwt.jwks_file is not None
        authenticator = Authenticator(
            auth, TokenVerifier(auth.jwt, JwksKeys(file=auth.jwt.jwks_file))
        )
    token = {"authorization": f"Bearer {identity.token()}"}
    key = {"x-api-key": KEY}
    store = MemoryBuckets(100_000)
    spec = BucketSpec(1e9, 1_000_000)

    async def timed(call: Any) -> float:
        started = time.perf_counter()
        for i in range(rounds):
            await call(i)
        return (time.perf_counter() - started) / rounds * 1e6

    async def run() -> None:
        need = Requirement()
        jwt_us = await timed(lambda i: authenticator.admit(token, need))
        key_us = await timed(lambda i: authenticator.admit(key, need))
        take_us = await timed(lambda i: store.take(f"caller-{i}", spec, float(i)))
        print(f"\nin process: RS256 token {jwt_us:.1f} us, API key {key_us:.1f} us, ", end="")
        print(f"bucket take {take_us:.1f} us")

    asyncio.run(run())


def main() -> None:
    logging.getLogger("facade").setLevel(logging.ERROR)  # the handler's answer is untyped
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    over_http(args.requests)
    in_process()


if __name__ == "__main__":
    sys.exit(main())
