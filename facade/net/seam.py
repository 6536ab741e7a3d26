"""The values and the one interface of the network seam."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from facade.errors import BackendTimeout

DEFAULT_MAX_REPLY_BYTES = 10 * 1024 * 1024
"""A reply is read up to 10 MiB (counted after decompression); past that it is a 502."""


@dataclass(frozen=True)
class Deadline:
    """A point in time by which a whole backend call (connect, send, wait, read) must end.

    deadline = Deadline.after(5.0)     # 5 s from now, for everything
    deadline.remaining()               # seconds left, never below 0
    """

    at: float
    """time.monotonic() value of the deadline."""
    seconds: float
    """The budget it was made with, for messages."""

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(at=time.monotonic() + seconds, seconds=seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def passed(self, what: str = "The backend did not answer") -> BackendTimeout:
        """The 504 for a call that ran out of this deadline, saying what did not happen."""
        return BackendTimeout(f"{what} within {self.seconds:g} s")


@dataclass(frozen=True)
class Reply:
    """What came back over HTTP, before anyone has looked inside.

    Header names are lower case; `content` is decompressed.
    """

    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float = 0.0
    """Seconds from sending the request to the last byte of the reply."""


class Transport(Protocol):
    """Sends one request and reads its whole reply, within a deadline and a size cap.

    Raises BackendTimeout at the deadline, BackendUnreachable when no connection could be
    made, BackendReplyTooLarge past `max_bytes`, and BackendError for any other network
    failure. Redirects are never followed. `url` is sent exactly as written: it must be
    percent-encoded already, and nothing in it is decoded or normalised on the way.
    """

    async def request(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: Mapping[str, str],
        deadline: Deadline,
        *,
        max_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    ) -> Reply: ...

    async def aclose(self) -> None: ...


def origin_problem(url: str) -> str | None:
    """Why `url` cannot be a backend's address, or None when it can: one rule for the
    legacy address and the new side's URL template, checked before anything is served."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{url!r} is not an http(s) URL"
    if "\\" in parts.netloc or not parts.hostname:
        return f"{url!r} has no host, or one that cannot be used"
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
    except ValueError:
        return f"{url!r} has a port that is not a number between 0 and 65535"
    return None


@functools.lru_cache(maxsize=4096)
def origin(url: str) -> str:
    """`scheme://host:port` of a URL: the unit that gets its own connection pool (asked
    several times per call, of the few addresses a table has)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"
