"""The production transport: aiohttp, one keep-alive pool per backend origin.

aiohttp was chosen by measurement (bench/net_clients.py): at 64 and 1,000 calls in flight it
spends a fraction of httpx's CPU per call, and it fails fast when a backend refuses
connections instead of queueing callers until their timeout.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
from yarl import URL

from facade.errors import BackendError, BackendReplyTooLarge, BackendUnreachable
from facade.net.limit import DEFAULT_QUEUE, DEFAULT_QUEUE_TIMEOUT, CallLimit
from facade.net.seam import DEFAULT_MAX_REPLY_BYTES, Deadline, Reply, origin

DEFAULT_CONNECTIONS_PER_ORIGIN = 100
"""At most 100 calls (and connections) to one backend origin at once; further calls wait in
the origin's bounded queue (facade/net/limit.py), never past their deadline."""
KEEPALIVE_SECONDS = 30.0
"""An idle pooled connection is closed after 30 s (legacy servers often drop them sooner)."""
READ_CHUNK = 64 * 1024
URL_CHARACTERS = ":/?#[]@!$&'()*+,;=%~-._"
"""Characters a URL may hold as they are (RFC 3986, `%` for escapes already made); any
other (a space, non-ASCII text) is percent-encoded before sending, nothing is decoded."""


class HttpTransport:
    """Pooled HTTP/1.1 over aiohttp; network failures become BackendErrors.

    transport = HttpTransport(connections_per_origin=20, limits={"http://erp:8080": 4})
    reply = await transport.request("POST", url, envelope, headers, Deadline.after(5.0))
    await transport.aclose()

    Each origin takes `limits[origin]` calls at once (else `connections_per_origin`); up to
    `queue` more wait for a turn, each at most `queue_timeout` seconds (default: until its
    deadline), then BackendBusy (503).

    Pools are made on first use inside the running event loop (an aiohttp session cannot
    be made outside one) and closed by `aclose()` at shutdown.
    """

    def __init__(
        self,
        connections_per_origin: int = DEFAULT_CONNECTIONS_PER_ORIGIN,
        tls: Mapping[str, ssl.SSLContext] | None = None,
        *,
        limits: Mapping[str, int] | None = None,
        queue: int = DEFAULT_QUEUE,
        queue_timeout: float | None = DEFAULT_QUEUE_TIMEOUT,
    ) -> None:
        self.connections_per_origin = connections_per_origin
        self.limits = {origin(url): n for url, n in (limits or {}).items()}
        self.queue = queue
        self.queue_timeout = queue_timeout
        self._pools: dict[str, _Pool] = {}
        self._tls = dict(tls or {})
        """origin -> the SSLContext of its pool (client certificate, trusted CAs); others
        use the system's CAs."""

    def open(self, urls: list[str], tls: Mapping[str, ssl.SSLContext] | None = None) -> None:
        """Make the pools of these backends now (at startup, and for the origins a reload
        adds, with their TLS contexts), so no request pays for it."""
        for key, context in (tls or {}).items():
            self._tls.setdefault(key, context)  # a pool made already keeps its own
        for url in urls:
            self._pool(url)

    async def request(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        deadline: Deadline,
        *,
        max_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> Reply:
        pool = self._pool(url)
        await pool.limit.acquire(deadline)  # BackendBusy: the backend never saw the call
        try:
            return await self._send(pool, method, url, content, headers, deadline, max_bytes)
        finally:
            pool.limit.release()

    async def _send(
        self,
        pool: _Pool,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        deadline: Deadline,
        max_bytes: int,
    ) -> Reply:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(deadline.remaining()):
                async with pool.session.request(
                    method,
                    as_sent(url),
                    data=content,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    body = await _read_capped(response, max_bytes)
                    reply_headers = {k.lower(): v for k, v in response.headers.items()}
                    status = response.status
        except TimeoutError as exc:
            raise deadline.passed() from exc
        except aiohttp.ClientConnectorError as exc:
            raise BackendUnreachable() from exc
        except (aiohttp.ClientError, OSError) as exc:
            # the exception text may quote the backend; only its kind is reported
            raise BackendError(f"The backend connection failed ({type(exc).__name__})") from exc
        return Reply(status, reply_headers, body, time.perf_counter() - started)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.session.close()

    def _pool(self, url: str) -> _Pool:
        key = origin(url)
        pool = self._pools.get(key)
        if pool is None:
            limit = self.limits.get(key, self.connections_per_origin)
            connector = aiohttp.TCPConnector(
                limit=limit,
                limit_per_host=0,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=self._tls.get(key, True),
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=None),  # the deadline covers everything
                trust_env=False,
                auto_decompress=True,
                # one session serves every client: a backend's Set-Cookie must never ride
                # on another client's call (legacy stacks hand out JSESSIONID freely)
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            pool = _Pool(session, CallLimit(limit, self.queue, self.queue_timeout))
            self._pools[key] = pool
        return pool


@dataclass(frozen=True)
class _Pool:
    """One backend origin's keep-alive session, and the limit its calls queue at: aiohttp
    hands a freed connection to whichever call asks next, so under a burst some callers
    would wait seconds while others pass; the limit's FIFO queue keeps them in order."""

    session: aiohttp.ClientSession
    limit: CallLimit


@functools.lru_cache(maxsize=4096)
def as_sent(url: str) -> URL:
    """The URL as it goes on the wire: escapes kept, never decoded or normalised.

    yarl on its own decodes `%2E` and resolves dot segments, which would undo the
    percent-encoding of URL templates (`..%2F` stays `..%2F`, `%2E%2E` stays `%2E%2E`).
    """
    return URL(quote(url, safe=URL_CHARACTERS), encoded=True)  # immutable: kept per string


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The whole body, decompressed, or BackendReplyTooLarge as soon as it passes the cap."""
    declared = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity") != "identity"
    if declared is not None and declared.isdigit() and not encoded:
        if int(declared) > max_bytes:
            response.close()
            raise BackendReplyTooLarge(max_bytes)
        return await response.read()  # the length is known and within the cap: one read
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(READ_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            response.close()  # drop the connection rather than read the rest
            raise BackendReplyTooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)
