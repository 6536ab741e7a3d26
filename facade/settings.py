"""Process settings, read once from the environment.

FACADE_MAPPINGS=mappings  FACADE_WSDL=wsdl  FACADE_MAX_BODY_BYTES=1048576
FACADE_LOG_LEVEL=info  FACADE_BACKEND_CONNECTIONS=100
FACADE_SHADOW_QUEUE=1000  FACADE_SHADOW_CONCURRENCY=16
FACADE_CACHE_BYTES=67108864  FACADE_ADMIN_TOKEN=...  (unset: no admin API)
FACADE_COMPRESS_MIN_BYTES=1024  FACADE_COMPRESS=zstd,br,gzip  (empty: never compress)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from facade.cache.store import DEFAULT_CACHE_BYTES
from facade.compression import CODECS, DEFAULT_CODINGS, DEFAULT_MIN_BYTES
from facade.migration.shadow import CONCURRENCY as SHADOW_CONCURRENCY
from facade.migration.shadow import QUEUE_SIZE as SHADOW_QUEUE_SIZE
from facade.net.client import DEFAULT_CONNECTIONS_PER_ORIGIN

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""A request body over 1 MiB is refused with 413 before it is parsed."""


@dataclass(frozen=True)
class Settings:
    mappings_dir: Path = Path("mappings")
    """Folder of mapping files, searched recursively for *.yaml."""
    wsdl_dir: Path = Path("wsdl")
    """Folder of the WSDLs (and their XSDs) the mappings name."""
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Largest request body accepted."""
    log_level: str = "info"
    """Level of the JSON log lines (one per request at info)."""
    backend_connections: int = DEFAULT_CONNECTIONS_PER_ORIGIN
    """Connections kept per backend origin, in each worker process."""
    shadow_queue: int = SHADOW_QUEUE_SIZE
    """Shadow calls waiting, per worker process; beyond it they are dropped and counted."""
    shadow_concurrency: int = SHADOW_CONCURRENCY
    """Shadow calls in flight at once, per worker process."""
    cache_bytes: int = DEFAULT_CACHE_BYTES
    """Bytes the response cache may hold, per worker process."""
    compress_min_bytes: int = DEFAULT_MIN_BYTES
    """Smallest answer sent compressed to a client that accepts it."""
    compress: tuple[str, ...] = DEFAULT_CODINGS
    """Content codings offered, in the server's order of preference; empty: none."""
    admin_token: str | None = field(default=None, repr=False)
    """Bearer token of the admin API (/admin/*); None: the API is off (404)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            mappings_dir=Path(env.get("FACADE_MAPPINGS", "mappings")),
            wsdl_dir=Path(env.get("FACADE_WSDL", "wsdl")),
            max_body_bytes=int(env.get("FACADE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES)),
            log_level=env.get("FACADE_LOG_LEVEL", "info"),
            backend_connections=int(
                env.get("FACADE_BACKEND_CONNECTIONS", DEFAULT_CONNECTIONS_PER_ORIGIN)
            ),
            shadow_queue=int(env.get("FACADE_SHADOW_QUEUE", SHADOW_QUEUE_SIZE)),
            shadow_concurrency=int(env.get("FACADE_SHADOW_CONCURRENCY", SHADOW_CONCURRENCY)),
            cache_bytes=int(env.get("FACADE_CACHE_BYTES", DEFAULT_CACHE_BYTES)),
            compress_min_bytes=int(env.get("FACADE_COMPRESS_MIN_BYTES", DEFAULT_MIN_BYTES)),
            compress=_codings(env.get("FACADE_COMPRESS", ",".join(DEFAULT_CODINGS))),
            admin_token=env.get("FACADE_ADMIN_TOKEN") or None,
        )

    def __post_init__(self) -> None:
        # a queue of 0 would be unbounded, a pool of 0 connections or workers would serve
        # nothing: refuse them at start rather than misbehave under load
        names = ("shadow_concurrency", "cache_bytes", "compress_min_bytes")
        for name in ("backend_connections", "shadow_queue", *names):
            if getattr(self, name) < 1:
                raise ValueError(f"FACADE_{name.upper()} must be at least 1")
        unknown = [coding for coding in self.compress if coding not in CODECS]
        if unknown:
            known = ", ".join(sorted(CODECS))
            raise ValueError(f"FACADE_COMPRESS: unknown coding {unknown[0]!r} (known: {known})")

    def to_env(self) -> dict[str, str]:
        """The variables that give the same settings to a worker process."""
        token = {"FACADE_ADMIN_TOKEN": self.admin_token} if self.admin_token else {}
        return token | {
            "FACADE_MAPPINGS": str(self.mappings_dir),
            "FACADE_WSDL": str(self.wsdl_dir),
            "FACADE_MAX_BODY_BYTES": str(self.max_body_bytes),
            "FACADE_LOG_LEVEL": self.log_level,
            "FACADE_BACKEND_CONNECTIONS": str(self.backend_connections),
            "FACADE_SHADOW_QUEUE": str(self.shadow_queue),
            "FACADE_SHADOW_CONCURRENCY": str(self.shadow_concurrency),
            "FACADE_CACHE_BYTES": str(self.cache_bytes),
            "FACADE_COMPRESS_MIN_BYTES": str(self.compress_min_bytes),
            "FACADE_COMPRESS": ",".join(self.compress),
        }


def _codings(value: str) -> tuple[str, ...]:
    """`zstd, br,gzip` -> ("zstd", "br", "gzip"); an empty value turns compression off."""
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())
