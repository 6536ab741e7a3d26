"""Bearer tokens (JWT) checked with PyJWT against the configured keys and claims.

The algorithm is never the token's choice: it must be one the settings list (never `none`,
never HMAC, which with a public key is the algorithm-confusion attack) and, when the key
names its own `alg`, that one.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import jwt
import orjson
from jwt.exceptions import (
    DecodeError,
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
    (DecodeError, "The token is malformed"),
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
        header = unverified_header(token)
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


def unverified_header(token: str) -> dict[str, Any]:
    """The token's header, read only to choose the key and refuse an algorithm early;
    PyJWT reads it again, with the rest, when it verifies. (Read here with the standard
    library: PyJWT's own reader checks the alphabet character by character in Python,
    which doubled the cost of every request.)"""
    segment = token.partition(".")[0]
    try:
        header = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error) as exc:  # JSONDecodeError is a ValueError
        raise InvalidToken("The token is malformed") from exc
    if not isinstance(header, dict) or token.count(".") != 2:
        raise InvalidToken("The token is malformed")
    return header


def _reason(exc: PyJWTError) -> str:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "The token is not valid"
