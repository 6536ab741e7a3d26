"""Cache keys: what makes two requests the same answer, and what keeps callers apart."""

from __future__ import annotations

from typing import Any

import jmespath

from facade.cache.keys import KeyReads, cache_key, identity, key_reads
from facade.context import RequestContext


def context(**fields: Any) -> RequestContext:
    return RequestContext(route="r", request_id="id", **fields)


def key(ctx: RequestContext, reads: KeyReads | None = None, **where: str) -> str:
    place = {"route": "r", "mode": "legacy", "side": "legacy"} | where
    return cache_key(place["route"], place["mode"], place["side"], ctx, reads or KeyReads())


def reads(*expressions: str, vary: tuple[str, ...] = (), public: bool = False) -> KeyReads:
    return key_reads([jmespath.compile(e).parsed for e in expressions], vary, public)


def test_query_order_does_not_matter_but_repeated_values_keep_theirs() -> None:
    assert key(context(query={"a": "1", "b": "2"})) == key(context(query={"b": "2", "a": "1"}))
    assert key(context(query={"a": ["1", "2"]})) != key(context(query={"a": ["2", "1"]}))


def test_route_mode_side_and_path_are_in_the_key() -> None:
    base = key(context(path={"id": "1"}))
    assert base != key(context(path={"id": "2"}))
    assert base != key(context(path={"id": "1"}), route="other")
    assert base != key(context(path={"id": "1"}), mode="canary")
    assert base != key(context(path={"id": "1"}), side="new")


def test_the_route_revision_is_in_the_key() -> None:
    """After a reload changed the route, answers cached by the old revision never hit."""
    ctx = context(path={"id": "1"})
    old = cache_key("r", "legacy", "legacy", ctx, KeyReads(), "rev1")
    assert old == cache_key("r", "legacy", "legacy", ctx, KeyReads(), "rev1")
    assert old != cache_key("r", "legacy", "legacy", ctx, KeyReads(), "rev2")


def test_headers_the_expressions_read_are_found() -> None:
    found = reads('headers."x-tenant"', "path.id || headers.Accept", vary=("X-Region",))
    assert found == KeyReads(("accept", "x-region", "x-tenant"))
    assert reads("headers").all_headers
    assert reads("client.ip").client


def test_a_read_header_varies_the_key_and_others_do_not() -> None:
    tenant = reads('headers."x-tenant"')
    one = key(context(headers={"x-tenant": "a", "x-other": "1"}), tenant)
    assert one == key(context(headers={"x-tenant": "a", "x-other": "2"}), tenant)
    assert one != key(context(headers={"x-tenant": "b", "x-other": "1"}), tenant)


def test_credentials_separate_callers_unless_public() -> None:
    ada = context(headers={"authorization": "Bearer ada"})
    bob = context(headers={"authorization": "Bearer bob"})
    assert key(ada) != key(bob)
    assert key(context(headers={"cookie": "s=1"})) != key(context(headers={"cookie": "s=2"}))
    assert key(context(headers={"x-api-key": "k1"})) != key(context())
    public = reads(public=True)
    assert key(ada, public) == key(bob, public)


def test_identity_is_a_hash_never_the_credential() -> None:
    caller = identity({"authorization": "Bearer secret-token"})
    assert caller is not None and "secret" not in caller
    assert identity({}) is None


ADA = {"sub": "ada", "scopes": [], "via": "jwt", "claims": {}}
BOB = {"sub": "bob", "scopes": [], "via": "jwt", "claims": {}}


def test_the_principal_replaces_the_raw_credentials_in_the_key() -> None:
    # two tokens of one user share entries; one token header can never mix two users
    one = context(headers={"authorization": "Bearer t1"}, principal=ADA)
    two = context(headers={"authorization": "Bearer t2"}, principal=ADA)
    assert key(one) == key(two)
    assert key(one) != key(context(headers={"authorization": "Bearer t1"}, principal=BOB))


def test_the_principal_stays_in_a_public_key_when_an_expression_reads_it() -> None:
    public = reads("path.id", public=True)
    assert key(context(principal=ADA), public) == key(context(principal=BOB), public)
    personal = reads("principal.sub", public=True)
    assert personal.principal
    assert key(context(principal=ADA), personal) != key(context(principal=BOB), personal)
