"""The legacy side: arguments -> SOAP envelope -> network -> typed JSON -> shaped JSON."""

from __future__ import annotations

import base64
import time
from typing import Any

from jmespath.exceptions import JMESPathError
from lxml import etree

from facade.backends.base import BackendReply, BackendRequest
from facade.backends.translator import LoopTranslator, Translator
from facade.context import REQUEST_ID_HEADER, RequestContext
from facade.errors import FieldProblem, InvalidRequest
from facade.mapping.loader import LegacyAuth
from facade.net.headers import checked
from facade.net.seam import Deadline, Transport
from facade.routetable import CompiledRoute
from facade.soap.message import build_request
from facade.soap.security import EnvelopeSigner, header_elements, username_token
from facade.types import Side


class LegacyBackend:
    """Calls a route's SOAP operation through the network seam.

    backend = LegacyBackend(route, HttpTransport())
    reply = await backend.call(BackendRequest(context, arguments), Deadline.after(10))
    """

    side: Side = "legacy"

    def __init__(
        self,
        route: CompiledRoute,
        transport: Transport,
        translator: Translator | None = None,
        version: str | None = None,
    ) -> None:
        self.route = route
        self.version = version
        """The fingerprint of the configuration the route was compiled in."""
        self.transport = transport
        self.translator = translator or LoopTranslator()
        self.timeout = route.mapping.legacy.timeout
        auth = route.mapping.legacy.auth
        self.signer = _signer(auth)
        self.http_headers = _http_auth(auth)

    async def call(self, request: BackendRequest, deadline: Deadline) -> BackendReply:
        started = time.perf_counter()
        route = self.route
        soap = build_request(
            route.operation,
            request.arguments,
            route.address,
            soap_headers=self.soap_headers(request.context),
            signer=self.signer,
            writer=route.writer,
        )
        headers = {
            **soap.headers,
            **self.http_headers,
            REQUEST_ID_HEADER: request.context.request_id,
        }
        reply = await self.transport.request(
            "POST",
            soap.url,
            soap.content,
            checked(headers),
            deadline,
            max_bytes=route.mapping.legacy.max_reply_bytes,
        )
        encoded = await self.translator.translate(route, reply, deadline, self.version)
        return BackendReply(
            status=route.mapping.status,
            encoded=encoded,
            side=self.side,
            elapsed=time.perf_counter() - started,
        )

    def soap_headers(self, context: RequestContext) -> list[etree._Element]:
        """The route's SOAP header elements, each filled from the request context."""
        if not self.route.soap_headers:
            return []
        data = context.expression_data()
        values: dict[str, Any] = {}
        for name, expression in self.route.soap_headers:
            try:
                values[name] = expression.search(data)
            except JMESPathError as exc:
                message = f"cannot be read from the request ({type(exc).__name__})"
                raise InvalidRequest([FieldProblem(name, message)]) from exc
        return header_elements(values)


def _signer(auth: LegacyAuth) -> EnvelopeSigner | None:
    token = auth.username_token
    if token is None:
        return None
    return username_token(token.username, token.password.reveal(), digest=token.digest)


def _http_auth(auth: LegacyAuth) -> dict[str, str]:
    """The Authorization header of HTTP basic auth, made once per route."""
    if auth.basic is None:
        return {}
    pair = f"{auth.basic.username}:{auth.basic.password.reveal()}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
