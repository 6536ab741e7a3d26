"""A legacy reply -> the route's JSON: classified, read by the WSDL, typed, shaped.

A plain function of the compiled route and the raw reply, so it runs the same on the event
loop and in the translator's child process. The route's compiled reader reads the reply
when it can; zeep reads what the reader declines, and the operations it was not compiled
for.
"""

from __future__ import annotations

from lxml import etree

from facade.errors import SoapFault
from facade.net.seam import Reply
from facade.routetable import CompiledRoute
from facade.soap.faults import fault_status, mapped_status
from facade.soap.message import FaultReply, deserialize_reply_body, reply_body
from facade.translate.reader import Declined
from facade.translate.response import shape, to_json
from facade.types import JSON


def translate_reply(route: CompiledRoute, reply: Reply) -> JSON:
    """The reply as the route's JSON, or the SoapFault/BackendError it stands for."""
    legacy = route.mapping.legacy
    try:
        body = reply_body(route.operation, reply)
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
    if body is None:
        typed = to_json(None, legacy.decimals, route.operation.output_type)
    else:
        typed = read_body(route, body, reply.status)
    return shape(route.response, typed)


def read_body(route: CompiledRoute, body: etree._Element, status: int) -> JSON:
    """The typed JSON of a reply's soap:Body: by the compiled reader, else by zeep."""
    if route.reader is not None:
        try:
            return route.reader.read_body(body)
        except Declined:
            pass  # something the reader does not read as zeep does: zeep reads it
    result = deserialize_reply_body(route.operation, body, status)
    return to_json(result, route.mapping.legacy.decimals, route.operation.output_type)
