"""The legacy side: context -> arguments -> SOAP envelope -> HTTP -> typed JSON -> shaped JSON."""

from __future__ import annotations

from facade.backends.http import HttpClient
from facade.context import RequestContext
from facade.errors import SoapFault
from facade.routetable import CompiledRoute
from facade.soap.faults import fault_status
from facade.soap.message import FaultReply, build_request, read_reply
from facade.translate.request import build_arguments
from facade.translate.response import shape, to_json
from facade.translate.validate import ArgumentValidator
from facade.types import JSON, Side

REQUEST_ID_HEADER = "X-Request-ID"


class LegacyBackend:
    """Calls a route's SOAP operation.

    backend = LegacyBackend(route, HttpxClient())
    customer = await backend.call(context)
    """

    side: Side = "legacy"

    def __init__(
        self, route: CompiledRoute, http: HttpClient, validator: ArgumentValidator | None = None
    ) -> None:
        self.route = route
        self.http = http
        self.validator = validator

    async def call(self, context: RequestContext) -> JSON:
        route, legacy = self.route, self.route.mapping.legacy
        arguments = build_arguments(route.arguments, context.expression_data(), self.validator)
        request = build_request(route.operation, arguments, route.address)
        headers = {**request.headers, REQUEST_ID_HEADER: context.request_id}
        reply = await self.http.post(request.url, request.content, headers, legacy.timeout)
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
            ) from exc
        typed = to_json(result, legacy.decimals, route.operation.output_type)  # type: ignore[arg-type]
        return shape(route.response, typed)
