"""Process settings, read once from the environment.

FACADE_MAPPINGS=mappings  FACADE_WSDL=wsdl  FACADE_MAX_BODY_BYTES=1048576
FACADE_LOG_LEVEL=info  FACADE_BACKEND_CONNECTIONS=100
FACADE_SHADOW_QUEUE=1000  FACADE_SHADOW_CONCURRENCY=16
FACADE_CACHE_BYTES=67108864  FACADE_ADMIN_TOKEN=...  (unset: no admin API)
FACADE_ADMIN_TOKENS=alice=tok1,bob=tok2  FACADE_ADMIN_TOKENS_FILE=path (name=token lines)
FACADE_STATE=path (run-time flags; unset: in-process)  FACADE_AUDIT=path
FACADE_RETIRE_AFTER=7d
FACADE_RELOAD_MAPPINGS=0  (1: reload when a mapping or WSDL file changes)
FACADE_BACKEND_LIMITS="http://erp:8080=4"  FACADE_BACKEND_QUEUE=1000
FACADE_BACKEND_QUEUE_TIMEOUT=2 (unset: the call's deadline)
FACADE_RETRY_ATTEMPTS=3  FACADE_RETRY_BUDGET=0.2
FACADE_BREAKER=on  FACADE_BREAKER_THRESHOLD=5  FACADE_BREAKER_COOL_DOWN=10
FACADE_IDEMPOTENCY_TTL=86400  FACADE_IDEMPOTENCY_ENTRIES=10000
FACADE_IDEMPOTENCY_BYTES=16777216  FACADE_SHUTDOWN_SECONDS=20  FACADE_SHADOW_DRAIN_SECONDS=2
FACADE_CONFIG=facade.yaml  (unset: no settings file; see facade/config/)
FACADE_COMPRESS_MIN_BYTES=1024  FACADE_COMPRESS=zstd,br,gzip  (empty: never compress)
FACADE_TRANSLATOR_NICE=10  (0: the translator process runs at the server's priority)
FACADE_COMPRESS_NICE=10  (0: the threads compressing large answers run at the server's)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from facade.cache.store import DEFAULT_CACHE_BYTES
from facade.compression import CODECS, DEFAULT_CODINGS, DEFAULT_MIN_BYTES
from facade.durations import seconds
from facade.migration.control import DEFAULT_RETIRE_AFTER
from facade.migration.shadow import CONCURRENCY as SHADOW_CONCURRENCY
from facade.migration.shadow import DRAIN_SECONDS as SHADOW_DRAIN_SECONDS
from facade.migration.shadow import QUEUE_SIZE as SHADOW_QUEUE_SIZE
from facade.net.client import DEFAULT_CONNECTIONS_PER_ORIGIN
from facade.net.limit import DEFAULT_QUEUE, DEFAULT_QUEUE_TIMEOUT
from facade.net.seam import origin, origin_problem
from facade.resilience.breaker import DEFAULT_COOL_DOWN, DEFAULT_THRESHOLD
from facade.resilience.idempotency import DEFAULT_BYTES as IDEMPOTENCY_BYTES
from facade.resilience.idempotency import DEFAULT_ENTRIES as IDEMPOTENCY_ENTRIES
from facade.resilience.idempotency import DEFAULT_TTL as IDEMPOTENCY_TTL
from facade.resilience.retry import DEFAULT_ATTEMPTS, DEFAULT_BUDGET_RATIO, RetryPolicy
from facade.resilience.transport import Resilience

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""A request body over 1 MiB is refused with 413 before it is parsed."""
DEFAULT_SHUTDOWN_SECONDS = 20.0
"""On SIGTERM, requests in flight (and then shadow calls) get 20 s to finish."""
DEFAULT_TRANSLATOR_NICE = 10
"""How much lower the translator process's scheduling priority is than its server's:
with fewer cores than busy processes, the kernel then runs the server's event loop first,
and large replies are translated with the CPU time it leaves."""
DEFAULT_COMPRESS_NICE = 10
"""How much lower the priority of the threads compressing large answers is than the event
loop's, for the same reason."""
SWITCHES = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


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
    backend_limits: dict[str, int] = field(default_factory=dict)
    """Calls in flight per backend origin (`scheme://host:port`) where it differs from
    `backend_connections`: legacy systems often take only a few at once."""
    backend_queue: int = DEFAULT_QUEUE
    """Calls that may wait for a turn per backend origin; beyond them, 503 at once."""
    backend_queue_timeout: float | None = DEFAULT_QUEUE_TIMEOUT
    """Seconds a call waits for a turn before it is a 503; None (the default): until the
    call's deadline. Never past the deadline."""
    retry_attempts: int = DEFAULT_ATTEMPTS
    """Attempts per backend call where a retry is safe (1: never retry)."""
    retry_budget: float = DEFAULT_BUDGET_RATIO
    """Retries per origin as a share of its calls over 10 s (plus 10)."""
    breaker: bool = True
    """The circuit breaker per backend origin (FACADE_BREAKER=off turns it off)."""
    breaker_threshold: int = DEFAULT_THRESHOLD
    """Consecutive failures that open an origin's breaker."""
    breaker_cool_down: float = DEFAULT_COOL_DOWN
    """Seconds an open breaker refuses calls before one probe may pass."""
    idempotency_ttl: float = IDEMPOTENCY_TTL
    """Seconds an Idempotency-Key's first answer is kept and replayed."""
    idempotency_entries: int = IDEMPOTENCY_ENTRIES
    """Idempotency records kept per worker; the oldest go first."""
    idempotency_bytes: int = IDEMPOTENCY_BYTES
    """Bytes of answers the idempotency records may hold per worker."""
    shutdown_seconds: float = DEFAULT_SHUTDOWN_SECONDS
    """On SIGTERM: how long requests in flight may still run (`facade serve`)."""
    shadow_drain_seconds: float = SHADOW_DRAIN_SECONDS
    """Then how long queued shadow calls may still run; the rest are counted as dropped."""
    translator_nice: int = DEFAULT_TRANSLATOR_NICE
    """Niceness the translator process adds to its server's (0-19; 0: the same priority)."""
    compress_nice: int = DEFAULT_COMPRESS_NICE
    """Niceness the threads compressing large answers add to the loop's (0-19)."""

    @property
    def resilience(self) -> Resilience:
        return Resilience(
            retry=RetryPolicy(attempts=self.retry_attempts),
            budget_ratio=self.retry_budget,
            breaker=self.breaker,
            threshold=self.breaker_threshold,
            cool_down=self.breaker_cool_down,
        )

    config_file: Path | None = None
    """The settings file (facade.yaml): authentication, rate limits, request limits."""

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
            admin_tokens=_named_tokens(env),
            state_path=_path(env.get("FACADE_STATE")),
            audit_path=_path(env.get("FACADE_AUDIT")),
            retire_after=seconds(env.get("FACADE_RETIRE_AFTER", DEFAULT_RETIRE_AFTER)),
            reload_mappings=env.get("FACADE_RELOAD_MAPPINGS", "0") == "1",
            backend_limits=parse_limits(env.get("FACADE_BACKEND_LIMITS", "")),
            backend_queue=int(env.get("FACADE_BACKEND_QUEUE", DEFAULT_QUEUE)),
            backend_queue_timeout=_seconds_or_none(env.get("FACADE_BACKEND_QUEUE_TIMEOUT")),
            retry_attempts=int(env.get("FACADE_RETRY_ATTEMPTS", DEFAULT_ATTEMPTS)),
            retry_budget=float(env.get("FACADE_RETRY_BUDGET", DEFAULT_BUDGET_RATIO)),
            breaker=_switch("FACADE_BREAKER", env.get("FACADE_BREAKER", "on")),
            breaker_threshold=int(env.get("FACADE_BREAKER_THRESHOLD", DEFAULT_THRESHOLD)),
            breaker_cool_down=float(env.get("FACADE_BREAKER_COOL_DOWN", DEFAULT_COOL_DOWN)),
            idempotency_ttl=float(env.get("FACADE_IDEMPOTENCY_TTL", IDEMPOTENCY_TTL)),
            idempotency_entries=int(env.get("FACADE_IDEMPOTENCY_ENTRIES", IDEMPOTENCY_ENTRIES)),
            idempotency_bytes=int(env.get("FACADE_IDEMPOTENCY_BYTES", IDEMPOTENCY_BYTES)),
            shutdown_seconds=float(env.get("FACADE_SHUTDOWN_SECONDS", DEFAULT_SHUTDOWN_SECONDS)),
            shadow_drain_seconds=float(
                env.get("FACADE_SHADOW_DRAIN_SECONDS", SHADOW_DRAIN_SECONDS)
            ),
            translator_nice=int(env.get("FACADE_TRANSLATOR_NICE", DEFAULT_TRANSLATOR_NICE)),
            compress_nice=int(env.get("FACADE_COMPRESS_NICE", DEFAULT_COMPRESS_NICE)),
            config_file=Path(env["FACADE_CONFIG"]) if env.get("FACADE_CONFIG") else None,
        )

    def tokens(self) -> dict[str, str]:
        """Every admin token by the name the audit gives it (`admin` for FACADE_ADMIN_TOKEN)."""
        named = {ADMIN_NAME: self.admin_token} if self.admin_token else {}
        return named | dict(self.admin_tokens)

    def __post_init__(self) -> None:
        # a queue of 0 would be unbounded, a pool of 0 connections or workers would serve
        # nothing: refuse them at start rather than misbehave under load
        whole = (
            "backend_connections",
            "shadow_queue",
            "shadow_concurrency",
            "cache_bytes",
            "backend_queue",
            "retry_attempts",
            "breaker_threshold",
            "idempotency_entries",
            "idempotency_bytes",
            "compress_min_bytes",
        )
        for name in whole:
            if getattr(self, name) < 1:
                raise ValueError(f"FACADE_{name.upper()} must be at least 1")
        if self.backend_queue_timeout is not None and not self.backend_queue_timeout > 0:
            raise ValueError("FACADE_BACKEND_QUEUE_TIMEOUT must be more than 0 seconds")
        seconds = ("breaker_cool_down", "idempotency_ttl")
        for name in (*seconds, "shutdown_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FACADE_{name.upper()} must be more than 0 seconds")
        if not self.shadow_drain_seconds >= 0:
            raise ValueError("FACADE_SHADOW_DRAIN_SECONDS must be 0 or more seconds")
        if not 0 <= self.translator_nice <= 19:
            raise ValueError("FACADE_TRANSLATOR_NICE must be between 0 and 19")
        if not 0 <= self.compress_nice <= 19:
            raise ValueError("FACADE_COMPRESS_NICE must be between 0 and 19")
        if not 0 <= self.retry_budget <= 1:
            raise ValueError("FACADE_RETRY_BUDGET must be a share between 0 and 1")
        for url, limit in self.backend_limits.items():
            if limit < 1:
                raise ValueError(f"FACADE_BACKEND_LIMITS: {url} must take at least 1 call")
        unknown = [coding for coding in self.compress if coding not in CODECS]
        if unknown:
            known = ", ".join(sorted(CODECS))
            raise ValueError(f"FACADE_COMPRESS: unknown coding {unknown[0]!r} (known: {known})")

    def to_env(self) -> dict[str, str]:
        """The variables that give the same settings to a worker process."""
        token = {"FACADE_ADMIN_TOKEN": self.admin_token} if self.admin_token else {}
        if self.admin_tokens:
            token["FACADE_ADMIN_TOKENS"] = ",".join(f"{n}={t}" for n, t in self.admin_tokens)
        paths = {"FACADE_STATE": self.state_path, "FACADE_AUDIT": self.audit_path}
        token |= {name: str(path) for name, path in paths.items() if path is not None}
        if self.config_file is not None:
            token["FACADE_CONFIG"] = str(self.config_file)
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
            "FACADE_COMPRESS_MIN_BYTES": str(self.compress_min_bytes),
            "FACADE_COMPRESS": ",".join(self.compress),
            "FACADE_RELOAD_MAPPINGS": "1" if self.reload_mappings else "0",
            "FACADE_BACKEND_LIMITS": ",".join(f"{o}={n}" for o, n in self.backend_limits.items()),
            "FACADE_BACKEND_QUEUE": str(self.backend_queue),
            "FACADE_BACKEND_QUEUE_TIMEOUT": _text(self.backend_queue_timeout),
            "FACADE_RETRY_ATTEMPTS": str(self.retry_attempts),
            "FACADE_RETRY_BUDGET": str(self.retry_budget),
            "FACADE_BREAKER": "on" if self.breaker else "off",
            "FACADE_BREAKER_THRESHOLD": str(self.breaker_threshold),
            "FACADE_BREAKER_COOL_DOWN": str(self.breaker_cool_down),
            "FACADE_IDEMPOTENCY_TTL": str(self.idempotency_ttl),
            "FACADE_IDEMPOTENCY_ENTRIES": str(self.idempotency_entries),
            "FACADE_IDEMPOTENCY_BYTES": str(self.idempotency_bytes),
            "FACADE_SHUTDOWN_SECONDS": str(self.shutdown_seconds),
            "FACADE_SHADOW_DRAIN_SECONDS": str(self.shadow_drain_seconds),
            "FACADE_TRANSLATOR_NICE": str(self.translator_nice),
            "FACADE_COMPRESS_NICE": str(self.compress_nice),
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


def parse_limits(text: str) -> dict[str, int]:
    """`http://erp:8080=4,https://crm=2` -> {origin: calls}; the origins normalised."""
    limits: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        url, equals, number = item.rpartition("=")
        problem = origin_problem(url) if equals else f"{item!r} is not ORIGIN=CALLS"
        if problem is None and not number.strip().isdigit():
            problem = f"{number!r} is not a number of calls"
        if problem is not None:
            raise ValueError(f"FACADE_BACKEND_LIMITS: {problem}")
        limits[origin(url)] = int(number)
    return limits


def _seconds_or_none(value: str | None) -> float | None:
    return float(value) if value else None


def _text(value: float | None) -> str:
    return "" if value is None else str(value)


def _codings(value: str) -> tuple[str, ...]:
    """`zstd, br,gzip` -> ("zstd", "br", "gzip"); an empty value turns compression off."""
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def _switch(name: str, value: str) -> bool:
    if value.strip().lower() not in SWITCHES:
        raise ValueError(f"{name} must be on or off, not {value!r}")
    return SWITCHES[value.strip().lower()]
