"""The legacy side: arguments -> SOAP envelope -> network -> typed JSON -> shaped JSON."""

from __future__ import annotations

import asyncio
import time

from facade.backends.base import BackendReply, BackendRequest
from facade.context import REQUEST_ID_HEADER
from facade.errors import SoapFault
from facade.net.seam import Deadline, Reply, Transport
from facade.pacing import Pacer
from facade.routetable import CompiledRoute
from facade.soap.faults import fault_status, mapped_status
from facade.soap.message import FaultReply, build_request, read_reply
from facade.translate.response import shape, to_json
from facade.types import JSON, Side

OFF_LOOP_BYTES = 64 * 1024
"""Replies larger than 64 KiB are translated in a worker thread: a 1 MB reply takes zeep
hundreds of milliseconds, which would stall every other request on the event loop."""


class LegacyBackend:
    """Calls a route's SOAP operation through the network seam.

    backend = LegacyBackend(route, HttpTransport())
    reply = await backend.call(BackendRequest(context, arguments), Deadline.after(10))
    """

    side: Side = "legacy"

    def __init__(
        self, route: CompiledRoute, transport: Transport, pacer: Pacer | None = None
    ) -> None:
        self.route = route
        self.transport = transport
        self.pacer = pacer or Pacer()
        self.timeout = route.mapping.legacy.timeout

    async def call(self, request: BackendRequest, deadline: Deadline) -> BackendReply:
        started = time.perf_counter()
        route, legacy = self.route, self.route.mapping.legacy
        soap = build_request(route.operation, request.arguments, route.address)
        headers = {**soap.headers, REQUEST_ID_HEADER: request.context.request_id}
        reply = await self.transport.request(
            "POST", soap.url, soap.content, headers, deadline, max_bytes=legacy.max_reply_bytes
        )
        if len(reply.content) > OFF_LOOP_BYTES:
            body = await asyncio.to_thread(self._translate, reply)
        else:
            await self.pacer.turn()  # replies arrive in bunches: translate them in turns
            body = self._translate(reply)
        return BackendReply(
            status=self.route.mapping.status,
            body=body,
            side=self.side,
            elapsed=time.perf_counter() - started,
        )

    def _translate(self, reply: Reply) -> JSON:
        """The reply as the route's JSON, or the SoapFault/BackendError it stands for."""
        route, legacy = self.route, self.route.mapping.legacy
        try:
            result = read_reply(route.operation, reply)
        except FaultReply as exc:
            fault = exc.fault
            raise SoapFault(
                code=fault.code,
                message=fault.message,
                detail=fault.detail,
                subcodes=fault.subcodes,
                status=fault_status(fault, legacy.faults),
                mapped=mapped_status(fault, legacy.faults) is not None,
            ) from exc
        typed = to_json(result, legacy.decimals, route.operation.output_type)
        return shape(route.response, typed)
