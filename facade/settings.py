"""Process settings, read once from the environment.

FACADE_MAPPINGS=mappings  FACADE_WSDL=wsdl  FACADE_MAX_BODY_BYTES=1048576
FACADE_LOG_LEVEL=info  FACADE_BACKEND_CONNECTIONS=100
FACADE_SHADOW_QUEUE=1000  FACADE_SHADOW_CONCURRENCY=16
FACADE_CACHE_BYTES=67108864  FACADE_ADMIN_TOKEN=...  (unset: no admin API)
FACADE_ADMIN_TOKENS=alice=tok1,bob=tok2  FACADE_ADMIN_TOKENS_FILE=path (name=token lines)
FACADE_STATE=path (run-time flags; unset: in-process)  FACADE_AUDIT=path
FACADE_RETIRE_AFTER=7d
FACADE_RELOAD_MAPPINGS=0  (1: reload when a mapping or WSDL file changes)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from facade.cache.store import DEFAULT_CACHE_BYTES
from facade.durations import seconds
from facade.migration.control import DEFAULT_RETIRE_AFTER
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
    admin_token: str | None = field(default=None, repr=False)
    """Bearer token of the admin API (/admin/*), named `admin` in the audit."""
    admin_tokens: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    """More admin tokens, each with the name the audit records: (("alice", "tok1"),).
    With neither these nor `admin_token` the API is off (404)."""
    state_path: Path | None = None
    """File of the run-time flags shared by the workers; None: kept in-process."""
    audit_path: Path | None = None
    """Append-only audit of flips; None: next to the state file (in-process without one)."""
    retire_after: float = DEFAULT_RETIRE_AFTER
    """Seconds in new without a fallback after which a route counts as retired."""
    reload_mappings: bool = False
    """Watch the mapping and WSDL folders and reload on a change (SIGHUP reloads anyway)."""

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
            admin_token=env.get("FACADE_ADMIN_TOKEN") or None,
            admin_tokens=_named_tokens(env),
            state_path=_path(env.get("FACADE_STATE")),
            audit_path=_path(env.get("FACADE_AUDIT")),
            retire_after=seconds(env.get("FACADE_RETIRE_AFTER", DEFAULT_RETIRE_AFTER)),
            reload_mappings=env.get("FACADE_RELOAD_MAPPINGS", "0") == "1",
        )

    def tokens(self) -> dict[str, str]:
        """Every admin token by the name the audit gives it (`admin` for FACADE_ADMIN_TOKEN)."""
        named = {ADMIN_NAME: self.admin_token} if self.admin_token else {}
        return named | dict(self.admin_tokens)

    def __post_init__(self) -> None:
        # a queue of 0 would be unbounded, a pool of 0 connections or workers would serve
        # nothing: refuse them at start rather than misbehave under load
        for name in ("backend_connections", "shadow_queue", "shadow_concurrency", "cache_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"FACADE_{name.upper()} must be at least 1")

    def to_env(self) -> dict[str, str]:
        """The variables that give the same settings to a worker process."""
        token = {"FACADE_ADMIN_TOKEN": self.admin_token} if self.admin_token else {}
        if self.admin_tokens:
            token["FACADE_ADMIN_TOKENS"] = ",".join(f"{n}={t}" for n, t in self.admin_tokens)
        paths = {"FACADE_STATE": self.state_path, "FACADE_AUDIT": self.audit_path}
        token |= {name: str(path) for name, path in paths.items() if path is not None}
        return token | {
            "FACADE_RETIRE_AFTER": f"{self.retire_after:.6f}",
            "FACADE_MAPPINGS": str(self.mappings_dir),
            "FACADE_WSDL": str(self.wsdl_dir),
            "FACADE_MAX_BODY_BYTES": str(self.max_body_bytes),
            "FACADE_LOG_LEVEL": self.log_level,
            "FACADE_BACKEND_CONNECTIONS": str(self.backend_connections),
            "FACADE_SHADOW_QUEUE": str(self.shadow_queue),
            "FACADE_SHADOW_CONCURRENCY": str(self.shadow_concurrency),
            "FACADE_CACHE_BYTES": str(self.cache_bytes),
            "FACADE_RELOAD_MAPPINGS": "1" if self.reload_mappings else "0",
        }


ADMIN_NAME = "admin"
"""The audit's name for FACADE_ADMIN_TOKEN."""


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _named_tokens(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """FACADE_ADMIN_TOKENS (`alice=tok1,bob=tok2`) and the lines of FACADE_ADMIN_TOKENS_FILE
    (`alice=tok1`; blank lines and `#` comments skipped)."""
    items = [item for item in env.get("FACADE_ADMIN_TOKENS", "").split(",") if item.strip()]
    file = env.get("FACADE_ADMIN_TOKENS_FILE")
    if file:
        lines = Path(file).read_text(encoding="utf-8").splitlines()
        items += [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    tokens = []
    for item in items:
        name, _, token = item.strip().partition("=")
        if not name.strip() or not token.strip():
            raise ValueError("admin tokens are written name=token, e.g. alice=s3cret")
        tokens.append((name.strip(), token.strip()))
    return tuple(tokens)
