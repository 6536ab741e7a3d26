"""Bearer tokens (JWT) checked with PyJWT against the configured keys and claims.

The algorithm is never the token's choice: it must be one the settings list (never `none`,
never HMAC, which with a public key is the algorithm-confusion attack) and, when the key
names its own `alg`, that one.
"""

from __future__ import annotations

from typing import Any

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)

from facade.auth.jwks import JwksKeys, UnknownKey
from facade.config.loader import JwtConfig
from facade.types import Principal

_REASONS: tuple[tuple[type[PyJWTError], str], ...] = (
    (ExpiredSignatureError, "The token has expired"),
    (ImmatureSignatureError, "The token is not valid yet"),
    (InvalidIssuerError, "The token's issuer is not accepted"),
    (InvalidAudienceError, "The token is not meant for this audience"),
    (MissingRequiredClaimError, "The token lacks a required claim"),
    (InvalidSignatureError, "The token's signature does not verify"),
)


class InvalidToken(Exception):
    """A token that does not pass; the message is safe to show the client."""


class TokenVerifier:
    """Checks a bearer token and returns its principal.

    verifier = TokenVerifier(config.jwt, JwksKeys(file=Path("jwks.json")))
    principal = await verifier.principal(token)   # InvalidToken when it does not pass
    """

    def __init__(self, config: JwtConfig, keys: JwksKeys) -> None:
        self.config = config
        self.keys = keys

    async def principal(self, token: str) -> Principal:
        claims = await self.claims(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise InvalidToken("The token names no subject (sub)")
        exposed = {name: claims[name] for name in self.config.claims if name in claims}
        return {"sub": subject, "scopes": self._scopes(claims), "via": "jwt", "claims": exposed}

    async def claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as exc:
            raise InvalidToken("The token is malformed") from exc
        algorithm = header.get("alg")
        if algorithm not in self.config.algorithms:
            raise InvalidToken(f"The token's algorithm is not accepted; use {self._accepted()}")
        kid = header.get("kid")
        try:
            found = await self.keys.key(kid if isinstance(kid, str) else None)
        except UnknownKey as exc:
            raise InvalidToken("The token's signing key is not known") from exc
        if found.algorithm is not None and found.algorithm != algorithm:
            raise InvalidToken("The token's algorithm does not match its key")
        return self._decode(token, found.key.key, algorithm)

    def _decode(self, token: str, key: Any, algorithm: str) -> dict[str, Any]:
        config = self.config
        required = (
            ["exp"] + (["iss"] if config.issuer else []) + (["aud"] if config.audience else [])
        )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=config.audience,
                issuer=config.issuer,
                leeway=config.leeway,
                options={"require": required, "verify_aud": config.audience is not None},
            )
        except PyJWTError as exc:
            raise InvalidToken(_reason(exc)) from exc
        except (TypeError, ValueError) as exc:  # a key of another family than the algorithm
            raise InvalidToken("The token's algorithm does not match its key") from exc
        return claims

    def _scopes(self, claims: dict[str, Any]) -> list[str]:
        value = claims.get(self.config.scopes_claim)
        if isinstance(value, str):
            return value.split()
        if isinstance(value, list):
            return [item for item in value if isinstance(item, str)]
        return []

    def _accepted(self) -> str:
        return ", ".join(self.config.algorithms)


def _reason(exc: PyJWTError) -> str:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "The token is not valid"
