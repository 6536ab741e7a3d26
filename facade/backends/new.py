"""The new side as an HTTP service: context -> URL template -> network -> JSON -> shaping.

What the service's answer means is decided here: 2xx JSON is the answer, 4xx is passed on
as the client's problem with its status, anything else is the backend's failure.
"""

from __future__ import annotations

import time

import orjson
from jmespath.parser import ParsedResult

from facade.backends.base import BackendReply, BackendRequest
from facade.context import REQUEST_ID_HEADER
from facade.errors import BackendHttpError, BackendNotJson, BackendRejected
from facade.mapping.loader import NewBinding
from facade.net.headers import checked, passed_on
from facade.net.seam import Deadline, Reply, Transport
from facade.translate.response import encode_json, shape
from facade.types import JSON, Side
from facade.urltemplate import UrlTemplate

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
"""Methods that send the client's JSON body on; the others send none."""
NO_CONTENT = 204


class NewBackend:
    """Calls a route's new REST service through the network seam.

    backend = NewBackend(binding, UrlTemplate.parse(binding.url), None, 200, HttpTransport())
    reply = await backend.call(BackendRequest(context), Deadline.after(binding.timeout))

    The answer has the route's status (the contract's), whichever 2xx the service gave.
    """

    side: Side = "new"

    def __init__(
        self,
        binding: NewBinding,
        template: UrlTemplate,
        response: ParsedResult | None,
        status: int,
        transport: Transport,
    ) -> None:
        self.binding = binding
        self.template = template
        self.response = response
        self.status = status
        self.transport = transport
        self.timeout = binding.timeout

    async def call(self, request: BackendRequest, deadline: Deadline) -> BackendReply:
        started = time.perf_counter()
        context = request.context
        url = self.template.render(context.expression_data())
        headers = {
            **passed_on(context.headers, self.binding.headers),
            "accept": "application/json",
            REQUEST_ID_HEADER: context.request_id,
        }
        content = None
        if self.binding.method in BODY_METHODS and context.body is not None:
            content = encode_json(context.body)
            headers["content-type"] = "application/json"
        reply = await self.transport.request(
            self.binding.method,
            url,
            content,
            checked(headers),
            deadline,
            max_bytes=self.binding.max_reply_bytes,
        )
        answer = shape(self.response, read_answer(reply))
        return BackendReply(
            status=self.status,
            encoded=encode_json(answer),
            side=self.side,
            elapsed=time.perf_counter() - started,
        )


def read_answer(reply: Reply) -> JSON:
    """A 2xx reply's JSON; otherwise the error it stands for (4xx passed on, rest 502)."""
    if 200 <= reply.status <= 299:
        if reply.status == NO_CONTENT or not reply.content.strip():
            return None  # a 201 or 202 with no body says nothing more than a 204
        try:
            return orjson.loads(reply.content)
        except orjson.JSONDecodeError as exc:
            raise BackendNotJson() from exc
    if 400 <= reply.status <= 499:
        raise BackendRejected(reply.status, _json_or_none(reply.content), reply.headers)
    raise BackendHttpError(reply.status)


def _json_or_none(content: bytes) -> JSON:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None  # a 4xx page that is not JSON is dropped, never forwarded raw
