"""An identity provider for tests: RSA keys, their JWKS, and tokens good and bad.

token(sub="u1", scope="a b")                 # RS256, kid "k1", valid for 5 minutes
forged_hs256(claims)                          # HS256 signed with k1's public key (PEM)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://id.test.example/"
AUDIENCE = "facade-tests"

KEYS = {kid: rsa.generate_private_key(public_exponent=65537, key_size=2048) for kid in ("k1", "k2")}


def jwk(kid: str, alg: str | None = "RS256") -> dict[str, Any]:
    document: dict[str, Any] = RSAAlgorithm.to_jwk(KEYS[kid].public_key(), as_dict=True)
    document.update({"kid": kid, "use": "sig"})
    if alg is not None:
        document["alg"] = alg
    return document


def jwks(*kids: str) -> dict[str, Any]:
    return {"keys": [jwk(kid) for kid in kids]}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "scope": "customers:read",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(kid: str = "k1", alg: str = "RS256", **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), KEYS[kid], algorithm=alg, headers={"kid": kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(payload))}"


def unsigned_none(**overrides: Any) -> str:
    """`alg: none`: no signature at all."""
    return _unsigned({"alg": "none", "typ": "JWT", "kid": "k1"}, claims(**overrides)) + "."


def forged_hs256(kid: str = "k1", **overrides: Any) -> str:
    """The algorithm-confusion attack: HS256 whose secret is the RSA public key's PEM."""
    pem = (
        KEYS[kid]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": kid}, claims(**overrides))
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
