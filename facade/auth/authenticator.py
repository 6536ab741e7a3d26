"""Credentials -> the principal, and whether it may call a route (401 or 403 otherwise).

A bearer token (`Authorization: Bearer ...`) is tried first, then the API key header. A
credential that is present but wrong is a 401 on every route, public ones included, so a
client learns that its token expired; no credential at all is an anonymous caller, which
only public routes admit.

The principal, as mapping expressions see it (`principal.sub`):

    {"sub": "user-42", "scopes": ["customers:read"], "via": "jwt", "claims": {"email": ...}}
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from facade.auth.policy import Requirement
from facade.auth.tokens import InvalidToken, TokenVerifier
from facade.config.loader import AuthConfig
from facade.errors import Forbidden, Unauthorized
from facade.types import Principal


class Authenticator:
    """Configured once per process from facade.yaml's `auth` section.

    authenticator = Authenticator(config.auth, TokenVerifier(config.auth.jwt, keys))
    principal = await authenticator.admit(request_headers, Requirement(scopes=("a",)))
    """

    def __init__(self, config: AuthConfig, tokens: TokenVerifier | None) -> None:
        if (config.jwt is None) != (tokens is None):
            raise ValueError("a token verifier goes with a jwt section, and only with one")
        self.config = config
        self.tokens = tokens

    async def admit(self, headers: Mapping[str, str], requirement: Requirement) -> Principal:
        """The caller's principal (None when anonymous on a public route); raises
        Unauthorized or Forbidden when the route does not admit it."""
        principal = await self.identify(headers)
        if requirement.public:
            return principal
        if principal is None:
            raise Unauthorized("This route needs credentials", challenge=self._challenges())
        missing = [s for s in requirement.scopes if s not in principal["scopes"]]
        if missing:
            detail = f"This route needs the scope{'s' if len(missing) > 1 else ''} "
            raise Forbidden(detail + " ".join(missing), challenge=self._scope_challenge(missing))
        return principal

    async def identify(self, headers: Mapping[str, str]) -> Principal:
        token = bearer_token(headers.get("authorization"))
        if token is not None and self.tokens is not None:
            try:
                return await self.tokens.principal(token)
            except InvalidToken as exc:
                challenge = self._bearer('error="invalid_token"', f'error_description="{exc}"')
                raise Unauthorized(str(exc), challenge=challenge) from exc
        keys = self.config.api_keys
        if keys is not None and keys.header in headers:
            digest = hashlib.sha256(headers[keys.header].encode("utf-8", "surrogateescape"))
            holder = keys.holders.get(digest.hexdigest())
            if holder is None:
                detail = f"The API key in {keys.header} is not valid"
                raise Unauthorized(detail, challenge=self._api_key('error="invalid_key"'))
            return {
                "sub": holder.name,
                "scopes": list(holder.scopes),
                "via": "api_key",
                "claims": {},
            }
        return None

    def _challenges(self) -> str:
        challenges = []
        if self.config.jwt is not None:
            challenges.append(self._bearer())
        if self.config.api_keys is not None:
            challenges.append(self._api_key())
        return ", ".join(challenges)

    def _scope_challenge(self, missing: list[str]) -> str | None:
        if self.config.jwt is None:
            return None
        return self._bearer('error="insufficient_scope"', f'scope="{" ".join(missing)}"')

    def _bearer(self, *params: str) -> str:
        return ", ".join((f'Bearer realm="{self.config.realm}"', *params))

    def _api_key(self, *params: str) -> str:
        assert self.config.api_keys is not None  # noqa: S101
        header = self.config.api_keys.header
        return ", ".join((f'ApiKey realm="{self.config.realm}"', f'header="{header}"', *params))


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Authorization: Bearer <token>` (scheme in any case); None otherwise."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
