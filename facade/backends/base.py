"""The one interface every backend offers to the pipeline, and the values it trades."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import orjson

from facade.context import RequestContext
from facade.contracts.conformance import Violation
from facade.net.seam import Deadline
from facade.types import JSON, ServedBy, Side


@dataclass(frozen=True)
class BackendRequest:
    """What a backend gets: the client's request and the arguments already validated
    against the route's contract (coerced to their XSD types)."""

    context: RequestContext
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BackendReply:
    """A backend's answer: the JSON for the client, encoded once, and who gave it.

    The answer travels as bytes (it is sent as it is); `body` decodes it for the steps that
    read it (comparison, tests), once.
    """

    status: int
    encoded: bytes
    side: ServedBy
    elapsed: float
    """Seconds the backend took, network and translation included."""
    headers: Mapping[str, str] = field(default_factory=dict)
    violations: tuple[Violation, ...] = ()
    """Where the answer breaks the route's documented response schema (new side only);
    the answer is still sent, and the violations counted and logged."""

    @cached_property
    def body(self) -> JSON:
        return orjson.loads(self.encoded)


class Backend(Protocol):
    """Serves one route within a deadline, or raises a FacadeError; it never sets
    anything on a shared object, so two backends can run for one request at once."""

    side: Side
    timeout: float
    """Seconds a call may take in total: the route's deadline for this side."""

    async def call(self, request: BackendRequest, deadline: Deadline) -> BackendReply: ...
