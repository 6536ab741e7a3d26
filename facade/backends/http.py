"""The one seam between backends and the network: an async HTTP POST with a timeout.

Backends depend on the `HttpClient` protocol only, so the client can be chosen by
measurement (httpx's pool is known to slow down with many requests in flight) and tests
can hand in a double.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import httpx

from facade.errors import BackendError, BackendTimeout, BackendUnreachable
from facade.soap.message import RawReply

DEFAULT_POOL = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""At most 100 connections to all backends, 20 kept alive when idle."""


class HttpClient(Protocol):
    async def post(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: float
    ) -> RawReply: ...

    async def aclose(self) -> None: ...


class HttpxClient:
    """Pooled async HTTP over httpx; network failures become BackendErrors.

    client = HttpxClient()
    reply = await client.post(url, body, {"Content-Type": "text/xml"}, timeout=5.0)
    """

    def __init__(self, limits: httpx.Limits = DEFAULT_POOL) -> None:
        self._client = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)

    async def post(
        self, url: str, content: bytes, headers: Mapping[str, str], timeout: float
    ) -> RawReply:
        try:
            response = await self._client.post(
                url, content=content, headers=dict(headers), timeout=timeout
            )
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"The backend did not answer within {timeout:g} s") from exc
        except httpx.ConnectError as exc:
            raise BackendUnreachable() from exc
        except httpx.HTTPError as exc:
            # the exception text may quote the backend; only its kind is reported
            raise BackendError(f"The backend connection failed ({type(exc).__name__})") from exc
        return RawReply(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=response.content,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
