"""The legacy side: arguments -> SOAP envelope -> network -> typed JSON -> shaped JSON."""

from __future__ import annotations

import time

from facade.backends.base import BackendReply, BackendRequest
from facade.backends.translator import LoopTranslator, Translator
from facade.context import REQUEST_ID_HEADER
from facade.net.headers import checked
from facade.net.seam import Deadline, Transport
from facade.routetable import CompiledRoute
from facade.soap.message import build_request
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

    async def call(self, request: BackendRequest, deadline: Deadline) -> BackendReply:
        started = time.perf_counter()
        route = self.route
        soap = build_request(route.operation, request.arguments, route.address)
        headers = {**soap.headers, REQUEST_ID_HEADER: request.context.request_id}
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
