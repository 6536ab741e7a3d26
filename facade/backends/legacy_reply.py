"""A legacy reply -> the route's JSON: classified, read by the WSDL, typed, shaped.

A plain function of the compiled route and the raw reply, so it runs the same on the event
loop and in the translator's child process.
"""

from __future__ import annotations

from facade.errors import SoapFault
from facade.net.seam import Reply
from facade.routetable import CompiledRoute
from facade.soap.faults import fault_status, mapped_status
from facade.soap.message import FaultReply, read_reply
from facade.translate.response import shape, to_json
from facade.types import JSON


def translate_reply(route: CompiledRoute, reply: Reply) -> JSON:
    """The reply as the route's JSON, or the SoapFault/BackendError it stands for."""
    legacy = route.mapping.legacy
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
