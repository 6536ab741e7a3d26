"""Which requirement and which bucket a route gets, from its mapping and facade.yaml."""

from __future__ import annotations

from facade.auth.authenticator import bearer_token
from facade.auth.policy import PUBLIC, BucketSpec, Requirement, bucket_for, requirement_for

A, B, C = BucketSpec(1, 1), BucketSpec(2, 2), BucketSpec(3, 3)


def test_without_authentication_every_route_is_public() -> None:
    assert requirement_for(Requirement(scopes=("x",)), None) == PUBLIC


def test_a_route_says_or_the_default_does() -> None:
    default = Requirement()
    assert requirement_for(None, default) == default
    assert requirement_for(PUBLIC, default) == PUBLIC


def test_facade_yaml_route_entry_then_mapping_then_default() -> None:
    assert bucket_for("r", A, {"r": B}, C) == B
    assert bucket_for("r", A, {}, C) == A
    assert bucket_for("r", None, {}, C) == C
    assert bucket_for("r", "off", {}, C) is None
    assert bucket_for("r", A, {"r": "off"}, C) is None
    assert bucket_for("r", None, {}, None) is None


def test_bearer_tokens_are_read_from_authorization() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic YTpi") is None
    assert bearer_token("Bearer ") is None
    assert bearer_token(None) is None
