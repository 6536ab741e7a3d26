"""The identity provider's public keys (a JWKS), from a file or one configured URL.

Keys are cached and fetched again every `refresh` seconds, and when a token names a key id
the cache does not hold (a rotation), at most once per `min_refresh` seconds, so tokens
with made-up key ids cannot make the facade hammer the provider. Keys are only ever
fetched from the configured URL: a token's `jku` or `x5u` header is never read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson
from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKError, PyJWKSetError

from facade.errors import BackendHttpError, FacadeError, ServiceUnavailable
from facade.net.seam import Deadline, Transport, origin

log = logging.getLogger("facade.auth")

Fetch = Callable[[str], Awaitable[bytes]]
"""Reads a URL's body (within a deadline and a size cap) or raises a FacadeError."""
Clock = Callable[[], float]


class UnknownKey(LookupError):
    """No key of the JWKS has the token's key id (or the token names none and there are
    several)."""


class JwksUnavailable(ServiceUnavailable):
    """The keys could never be read: no token can be checked until they are."""

    title = "Credentials cannot be checked right now"


@dataclass(frozen=True)
class SigningKey:
    key: PyJWK
    algorithm: str | None
    """The `alg` the JWKS names for the key; a token must then use that one."""


def parse_jwks(content: bytes) -> dict[str | None, SigningKey]:
    """Signing keys by key id; keys meant for encryption or unusable here are left out."""
    try:
        document = orjson.loads(content)
        keys = PyJWKSet.from_dict(document).keys
        declared = {k.get("kid"): k.get("alg") for k in document["keys"] if isinstance(k, dict)}
    except (orjson.JSONDecodeError, PyJWKError, PyJWKSetError, TypeError, KeyError) as exc:
        raise ValueError(f"not a usable JWKS: {type(exc).__name__}") from exc
    return {
        key.key_id: SigningKey(key, declared.get(key.key_id))
        for key in keys
        if key.public_key_use in (None, "sig")
    }


class JwksKeys:
    """The key for a token's `kid`, from the cache or a fresh fetch.

    keys = JwksKeys(url="https://id.example.com/jwks", fetch=read_url)
    found = await keys.key("2024-05")     # SigningKey; UnknownKey when no key has that id
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        file: Path | None = None,
        fetch: Fetch | None = None,
        refresh: float = 300.0,
        min_refresh: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        if (url is None) == (file is None) or (url is not None and fetch is None):
            raise ValueError("give a file, or a url and a fetch")
        self.url = url
        self.fetch = fetch
        self.refresh = refresh
        self.min_refresh = min_refresh
        self.clock = clock
        self._keys: Mapping[str | None, SigningKey] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()
        if file is not None:
            self._keys = parse_jwks(file.read_bytes())

    async def key(self, kid: str | None) -> SigningKey:
        if self.url is not None:
            interval = self.refresh if self._fetched_at is not None else self.min_refresh
            await self._update_if_due(interval)
            if self._fetched_at is None:
                retry = max(1.0, self.min_refresh)
                raise JwksUnavailable("The signing keys cannot be read", retry_after=retry)
        found = self._find(kid)
        if found is None and self.url is not None:
            await self._update_if_due(self.min_refresh)  # a rotated key: look once more
            found = self._find(kid)
        if found is None:
            raise UnknownKey(kid)
        return found

    def _find(self, kid: str | None) -> SigningKey | None:
        if kid is None:  # a token without a key id: only a set of one key is unambiguous
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _due(self, interval: float) -> bool:
        last = self._tried_at
        return last is None or self.clock() - last >= interval

    async def _update_if_due(self, interval: float) -> None:
        """One fetch for every request that finds the keys stale at the same moment: those
        arriving while it runs wait for it rather than read the keys it is replacing."""
        if not (self._due(interval) or self._lock.locked()):
            return
        async with self._lock:
            if not self._due(interval):
                return  # another request fetched them while this one waited
            self._tried_at = self.clock()
            assert self.url is not None and self.fetch is not None  # noqa: S101
            try:
                self._keys = parse_jwks(await self.fetch(self.url))
                self._fetched_at = self._tried_at
            except (FacadeError, ValueError) as exc:
                # the keys held (if any) keep serving
                fields = {"problem": type(exc).__name__, "origin": origin(self.url)}
                log.warning("JWKS could not be read", extra={"fields": fields})


JWKS_TIMEOUT_SECONDS = 5.0
JWKS_MAX_BYTES = 1024 * 1024
"""A JWKS is a few KiB; one over 1 MiB is refused while it is read."""


def fetch_over(transport: Transport) -> Fetch:
    """Reads the JWKS URL through the network seam: its deadline, size cap and pools."""

    async def fetch(url: str) -> bytes:
        headers = {"accept": "application/json"}
        deadline = Deadline.after(JWKS_TIMEOUT_SECONDS)
        reply = await transport.request(
            "GET", url, None, headers, deadline, max_bytes=JWKS_MAX_BYTES
        )
        if reply.status != 200:
            raise BackendHttpError(reply.status)
        return reply.content

    return fetch
