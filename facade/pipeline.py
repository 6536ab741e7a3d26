"""handle(route, context) -> outcome: the only module that knows the order of the steps.

    context -> validation against the route's contract
            -> a write with an Idempotency-Key seen before: the first answer, replayed
            -> the side that serves (by mode, and in canary by the caller's sticky bucket)
            -> that backend, within the side's deadline
            -> the new side's answer checked against the documented response
            -> a new-side failure answered by legacy, when the route falls back -> outcome
            -> in mode shadow, a job replaying the request on the new side (run later)

The migration decision, the cache and resilience slot in here, each a step that takes and
returns plain values. Nothing here raises for a request that went wrong: a failure is an
outcome too, carrying the side that failed (None when the facade itself refused).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any

from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from facade.backends.base import Backend, BackendReply, BackendRequest
from facade.cache.http import wants_bypass
from facade.cache.keys import KeyReads, cache_key, identity
from facade.cache.step import Freshness, ResponseCache
from facade.cache.store import entry_params, spelled
from facade.context import RequestContext
from facade.contracts.conformance import ResponseConformance
from facade.errors import FacadeError
from facade.mapping.loader import ComparePolicy
from facade.migration.compare import Answer, Rules
from facade.migration.routing import may_fall_back, side_for, sticky_key
from facade.migration.shadow import ShadowJob
from facade.net.seam import Deadline
from facade.pacing import LOOP_WORK_BYTES
from facade.resilience.idempotency import (
    KEY_HEADER,
    Idempotency,
    check_key,
    fingerprint,
    scoped_key,
)
from facade.routetable import CompiledRoute
from facade.translate.request import build_arguments
from facade.translate.validate import ArgumentValidator
from facade.types import Mode, RouteName, ServedBy

Setting = tuple[Mode, float]
"""A route's mode and canary percent as they stand for one request."""
FlagLookup = Callable[[RouteName], Setting]
"""The run-time setting of a route by name (declared, or flipped by an operator)."""

CHECKED_ANSWER_BYTES = LOOP_WORK_BYTES
"""New-side answers up to this size are checked against the contract (and compared in
shadow) on the event loop; a 1 MB answer would hold it for most of a second, so larger
ones are sent unchecked."""


@dataclass(frozen=True)
class ServedRoute:
    """A compiled route with its contract's validator and the backends that can serve it."""

    compiled: CompiledRoute
    validator: ArgumentValidator
    legacy: Backend
    new: Backend | None = None
    """The route's new implementation; none until the mapping names one."""
    conformance: ResponseConformance | None = None
    """Checks the new side's answers against the route's documented response schema;
    none when that schema cannot be derived (an untyped response expression)."""
    cache: ResponseCache | None = None
    """The app's response cache; used when the mapping gives the route a `cache.ttl`, and
    purged by a write route's `cache.invalidates`."""
    cache_reads: KeyReads = KeyReads()
    """What of the request, beyond path, query and body, the route's cache key holds."""
    flags: FlagLookup | None = None
    """The route's setting in force (run-time flips); the mapping's declaration when none."""
    revision: str = ""
    """A digest of the route's mapping and WSDL (facade.sources): in the cache key, so an
    answer cached before a reload changed the route is never served after it."""
    idempotency: Idempotency[Outcome] | None = None
    """The app's idempotency records; used when the route honours Idempotency-Key."""

    def __post_init__(self) -> None:
        mode = self.compiled.mapping.mode
        if mode in ("new", "canary", "shadow") and self.new is None:
            raise ValueError(f"route {self.name!r} is in mode {mode} but has no new backend")

    @cached_property
    def name(self) -> RouteName:
        """The route's name (read several times by every request: looked up once)."""
        return self.compiled.name

    def setting(self) -> Setting:
        """Mode and percent for this request: flipped at run time, or as declared."""
        if self.flags is not None:
            return self.flags(self.name)
        migration = self.compiled.mapping.migration
        return migration.mode, migration.percent


@dataclass(frozen=True)
class Failure:
    """A request that ended in an error; `side` is the backend that failed, if any did."""

    error: FacadeError
    side: ServedBy | None = None


Outcome = BackendReply | Failure
IDEMPOTENT_FAILURE_SIZE = 1024
"""Bytes a kept 4xx counts for in the idempotency store."""


async def handle(route: ServedRoute, context: RequestContext) -> Outcome:
    """Serve one request; every error becomes a Failure with the side it came from."""
    outcome, _ = await serve(route, context)
    return outcome


async def serve(route: ServedRoute, context: RequestContext) -> tuple[Outcome, ShadowJob | None]:
    """The client's outcome, and the shadow job to run once the client has it (if any)."""
    try:
        request = validate(route, context)
        key = idempotency_key(route, context)
    except FacadeError as exc:
        return Failure(exc), None
    if key is None or route.idempotency is None:
        return await served(route, request)
    shadow: list[ShadowJob | None] = [None]

    async def produce() -> Outcome:
        outcome, shadow[0] = await served(route, request)
        return outcome

    print_ = fingerprint(route.compiled.mapping.method, [context.path, context.query, context.body])
    try:
        outcome, _ = await route.idempotency.run(
            key, print_, produce, kept, answer_size, wait=longest_call(route)
        )
    except FacadeError as exc:
        return Failure(exc), None
    return outcome, shadow[0]


async def served(route: ServedRoute, request: BackendRequest) -> tuple[Outcome, ShadowJob | None]:
    """The outcome of the side that serves, its fallback, and the shadow job."""
    setting = route.setting()
    backend = choose_side(route, request.context, setting)
    outcome, called = await cached_call(route, backend, request, setting[0])
    if isinstance(outcome, Failure) and may_fall_back(
        route.compiled.mapping.migration.fallback, outcome.side, outcome.error.status
    ):
        outcome, called = fall_back(await call(route.legacy, request)), False
    invalidate(route, request.context, outcome)
    # a cached or shared answer is compared once, by the request whose call produced it
    return outcome, shadow_job(route, request, outcome, setting[0]) if called else None


async def cached_call(
    route: ServedRoute, backend: Backend, request: BackendRequest, mode: Mode
) -> tuple[Outcome, bool]:
    """The chosen side's outcome, from the cache when the route caches (safe routes only);
    the flag says whether this request called the backend itself."""
    mapping = route.compiled.mapping
    ttl = mapping.cache.ttl
    if route.cache is None or ttl is None or not mapping.legacy.safe:
        return conform(route, await call(backend, request)), True
    key = cache_key(
        route.name, mode, backend.side, request.context, route.cache_reads, route.revision
    )

    async def produce() -> Outcome:
        return conform(route, await call(backend, request))

    policy = mapping.cache
    bypass = policy.allow_bypass and wants_bypass(request.context.headers)
    freshness = Freshness(ttl, policy.stale_if_error, policy.stale_while_revalidate)
    params = entry_params(request.context.path, request.context.query)
    return await route.cache.fetch(
        key, route.name, freshness, backend.timeout, produce, bypass, params
    )


def early_hit(route: ServedRoute, context: RequestContext) -> BackendReply | None:
    """A fresh cached answer for the request, looked up before validation and translation:
    an entry exists only for a request that passed them, and its key holds everything they
    read. None when the route does not cache, the client may bypass and asks to, or there
    is no fresh entry (the request then goes the whole way)."""
    cache, mapping = route.cache, route.compiled.mapping
    if cache is None or mapping.cache.ttl is None or not mapping.legacy.safe:
        return None
    if mapping.cache.allow_bypass and wants_bypass(context.headers):
        return None
    mode, percent = route.setting()
    side = choose_side(route, context, (mode, percent)).side
    key = cache_key(route.name, mode, side, context, route.cache_reads, route.revision)
    return cache.fresh(key, route.name)


def invalidate(route: ServedRoute, context: RequestContext, outcome: Outcome) -> None:
    """After a successful write (2xx, whichever side answered), purge the entries it names:
    those whose parameters have the values its expressions read from the write request;
    all of the target's entries when a value cannot be told (null, a list, an object)."""
    targets = route.compiled.invalidates
    if not targets or route.cache is None or not isinstance(outcome, BackendReply):
        return
    if not 200 <= outcome.status < 300:
        return
    data = context.expression_data()
    for target in targets:
        params = {name: _param_value(expression, data) for name, expression in target.params}
        if any(value is None for value in params.values()):
            route.cache.purge(target.route)
        else:
            route.cache.purge(target.route, {k: v for k, v in params.items() if v is not None})


def _param_value(expression: ParsedResult, data: dict[str, Any]) -> str | None:
    """The value as a path or query parameter spells it, or None when it has no one
    spelling (missing, a list, an object)."""
    try:
        return spelled(expression.search(data))
    except JMESPathError:
        return None


def idempotency_key(route: ServedRoute, context: RequestContext) -> str | None:
    """The store's key for a request carrying Idempotency-Key on a route that honours it,
    scoped to the route and the caller (the principal once authentication sets one, else a
    hash of the credentials sent); None when there is nothing to key."""
    given = context.headers.get(KEY_HEADER)
    if given is None or not route.compiled.mapping.resilience.idempotency:
        return None
    principal = getattr(context, "principal", None)  # set by authentication, when it runs
    caller = repr(principal) if principal is not None else identity(context.headers)
    return scoped_key(route.name, caller, check_key(given))


def kept(outcome: Outcome) -> bool:
    """Answers replayed for a repeated key: successes and client errors (the backend did or
    refused the write). A 5xx is not kept, so the client's retry tries again."""
    return isinstance(outcome, BackendReply) or outcome.error.status < 500


def answer_size(outcome: Outcome) -> int:
    return len(outcome.encoded) if isinstance(outcome, BackendReply) else IDEMPOTENT_FAILURE_SIZE


def longest_call(route: ServedRoute) -> float:
    """The longest a request of this route may take at the backends (a new side's deadline
    and then legacy's, when it falls back): how long a repeated key waits for the first."""
    return route.legacy.timeout + (route.new.timeout if route.new is not None else 0.0)


def validate(route: ServedRoute, context: RequestContext) -> BackendRequest:
    """The request checked against the route's contract, before any side is chosen."""
    arguments = build_arguments(
        route.compiled.arguments, context.expression_data(), route.validator
    )
    return BackendRequest(context=context, arguments=arguments)


def choose_side(
    route: ServedRoute, context: RequestContext, setting: Setting | None = None
) -> Backend:
    """The backend that serves this request, by the route's mode (in shadow, legacy); in
    canary the caller's sticky key picks the side, the same one in every process."""
    mode, percent = setting or route.setting()
    key = None
    if mode == "canary" and route.compiled.sticky is not None:
        try:
            key = sticky_key(route.compiled.sticky.search(context.expression_data()))
        except JMESPathError:  # `length(headers."x-user")` without the header: no key
            key = None
    side = side_for(mode, percent, route.name, key)
    if side == "new" and route.new is not None:
        return route.new
    return route.legacy


async def call(backend: Backend, request: BackendRequest) -> Outcome:
    """One backend call within its deadline; its failure is returned, not raised."""
    try:
        return await backend.call(request, Deadline.after(backend.timeout))
    except FacadeError as exc:
        return Failure(exc, side=backend.side)


def fall_back(outcome: Outcome) -> Outcome:
    """Legacy's outcome, labelled as standing in for the failed new side. Legacy gets a
    deadline of its own: a fallback may take the new side's timeout plus legacy's."""
    return replace(outcome, side="legacy-fallback")


def conform(route: ServedRoute, outcome: Outcome) -> Outcome:
    """The new side's answer with the places where it breaks the route's documented
    response schema. It is still sent: the client gets what the new side gave, and the
    violations travel on the reply value to be counted and logged."""
    if isinstance(outcome, Failure) or outcome.side != "new" or route.conformance is None:
        return outcome
    if len(outcome.encoded) > CHECKED_ANSWER_BYTES:
        return outcome
    found = route.conformance.violations(outcome.body)
    return replace(outcome, violations=found) if found else outcome


def shadow_job(
    route: ServedRoute, request: BackendRequest, outcome: Outcome, mode: Mode | None = None
) -> ShadowJob | None:
    """In mode shadow, the request replayed on the new side and compared with legacy's
    outcome. Only safe methods are replayed, unless the mapping opts writes in: a write
    sent twice is a write done twice."""
    mapping = route.compiled.mapping
    new = route.new
    if (mode or route.setting()[0]) != "shadow" or new is None:
        return None
    if not (mapping.legacy.safe or mapping.migration.shadow_writes):
        return None
    policy = mapping.migration.compare

    async def call_new() -> Answer | None:
        return answer(conform(route, await call(new, request)))

    async def call_legacy() -> Answer | None:
        return answer(await call(route.legacy, request))

    return ShadowJob(
        route.name,
        request.context.request_id,
        answer(outcome),
        call_new,
        # legacy twice is a write done twice: a baseline is for safe routes only
        call_legacy if policy.baseline and mapping.legacy.safe else None,
        rules=rules(policy),
        redact=policy.redact,
    )


def answer(outcome: Outcome) -> Answer | None:
    """An outcome as the comparison sees it: status, JSON and contract violations; a client
    error (a mapped fault, a 4xx of the new service) by its status; None when the side failed."""
    if isinstance(outcome, BackendReply) and len(outcome.encoded) > CHECKED_ANSWER_BYTES:
        return Answer(outcome.status, too_large=True)
    if isinstance(outcome, BackendReply):
        broken = tuple((v.pointer, v.message) for v in outcome.violations)
        return Answer(outcome.status, outcome.body, broken)
    if outcome.error.status >= 500:
        return None
    return Answer(outcome.error.status)


@lru_cache(maxsize=1024)
def rules(policy: ComparePolicy) -> Rules:
    """The route's comparison rules, parsed once (the policy is checked at load)."""
    return Rules.parse(policy.ignore, policy.sort)
