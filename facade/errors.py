"""Every error the facade reports, and the HTTP status each one owns.

    FacadeError                      500 internal-error
      ClientError                    400 bad-request
        Unauthorized                 401 unauthorized (WWW-Authenticate)
        Forbidden                    403 forbidden
        RouteNotFound                404 not-found
          UnknownRoute               404 unknown-route: the admin API names no such route
        MethodNotAllowed             405 method-not-allowed (Allow: every method of the path)
        FlagStateUnavailable         409 flag-state-unavailable: the state file must be repaired
        PayloadTooLarge              413 payload-too-large
        HeadersTooLarge              431 headers-too-large
        InvalidHeader                400 invalid-header: a value that cannot travel in a header
        UnsupportedMediaType         415 unsupported-media-type
        Conflict                     409 conflict
          IdempotencyKeyInFlight     409 idempotency-key-in-flight: the first is still running
        InvalidRequest               422 invalid-request (errors: [{field, message}])
          InvalidIdempotencyKey      400 invalid-idempotency-key
        IdempotencyKeyReused         422 idempotency-key-reused: same key, another request
        TooManyRequests              429 too-many-requests (Retry-After)
        BackendRejected              4xx backend-rejected: the new side's own 4xx, passed on
      ServiceUnavailable             503 service-unavailable (Retry-After)
        BackendBusy                  503 backend-busy: the origin's call limit and queue are full
        BackendCircuitOpen           503 backend-circuit-open: calls paused after failures
      BackendError                   502 backend-error
        BackendUnreachable           502 backend-unreachable
        BackendTimeout               504 backend-timeout
        BackendReplyTooLarge         502 backend-reply-too-large
        ResponseExpressionFailed     502 response-expression-failed
        BackendBadResponse           502 backend-bad-response
          BackendHtmlResponse        502 backend-html-response
          BackendEmptyResponse       502 backend-empty-response
          BackendMalformedXml        502 backend-malformed-xml
          BackendNotSoap             502 backend-not-soap
          BackendUnexpectedResponse  502 backend-unexpected-response
        SoapFault                    status chosen by the mapping, soap-fault
        BackendHttpError             502 backend-http-error: the new side answered 5xx or 3xx
        BackendNotJson               502 backend-not-json: the new side's 2xx is not JSON

    ConfigError                      not an HTTP error: a list of located problems in
                                     mapping files or WSDLs, raised at load and by `facade check`

Each class carries a public message only. The raw text of a backend reply or of a
zeep/httpx exception never reaches a client: zeep puts the backend's body in its
TransportError message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_TYPE_PREFIX = "urn:facade:problem:"


class FacadeError(Exception):
    """Base of every error that becomes a problem+json response."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if status is not None:
            self.status = status  # type: ignore[misc]

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug

    def __reduce__(self) -> tuple[Any, ...]:
        # subclasses take keyword-only arguments, which pickle's default cannot replay;
        # errors cross to and from the translator process
        return (_restore, (type(self), self.__dict__))

    def extensions(self) -> dict[str, Any]:
        """Extra members of the problem document, beyond type/title/status/detail."""
        return {}

    def headers(self) -> dict[str, str]:
        """HTTP headers the answer must carry (Allow, Retry-After, WWW-Authenticate)."""
        return {}


def _restore(cls: type[FacadeError], state: dict[str, Any]) -> FacadeError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("detail", ""))
    error.__dict__.update(state)
    return error


class ClientError(FacadeError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class Unauthorized(ClientError):
    status = 401
    slug = "unauthorized"
    title = "Credentials are missing or not valid"

    def __init__(self, detail: str = "", *, challenge: str = "Bearer") -> None:
        self.challenge = challenge
        super().__init__(detail)

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


class Forbidden(ClientError):
    status = 403
    slug = "forbidden"
    title = "The caller may not do this"

    def __init__(self, detail: str = "", *, challenge: str | None = None) -> None:
        self.challenge = challenge
        super().__init__(detail)

    def headers(self) -> dict[str, str]:
        return {} if self.challenge is None else {"WWW-Authenticate": self.challenge}


class RouteNotFound(ClientError):
    status = 404
    slug = "not-found"
    title = "Not found"


class UnknownRoute(RouteNotFound):
    """An admin call names a route that no mapping declares; `errors` names the field."""

    slug = "unknown-route"
    title = "No such route"

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        super().__init__(detail)

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"field": self.field, "message": self.detail}]}


class MethodNotAllowed(ClientError):
    """The path exists, but not with this method; `Allow` lists every method it has."""

    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        super().__init__(f"{method} is not allowed here; use {', '.join(allowed)}")

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class FlagStateUnavailable(ClientError):
    """A flip refused because the flag state file cannot be read: writing it would erase
    what the operator can still repair."""

    status = 409
    slug = "flag-state-unavailable"
    title = "The flag state cannot be changed"


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class TooManyRequests(ClientError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        super().__init__(detail)

    def headers(self) -> dict[str, str]:
        return _retry_after(self.retry_after)


class ServiceUnavailable(FacadeError):
    """The facade chose not to serve now (a limit is full); try again after `Retry-After`."""

    status = 503
    slug = "service-unavailable"
    title = "The service is busy"

    def __init__(self, detail: str = "", *, retry_after: float = 1.0) -> None:
        self.retry_after = retry_after
        super().__init__(detail)

    def headers(self) -> dict[str, str]:
        return _retry_after(self.retry_after)


class BackendBusy(ServiceUnavailable):
    """The backend origin's concurrency limit is reached and no turn came in time (or its
    queue is full); the backend never saw the call."""

    slug = "backend-busy"
    title = "The backend is taking no more calls right now"


class BackendCircuitOpen(ServiceUnavailable):
    """Calls to the backend origin are paused after consecutive failures; the backend is
    not called until the cool-down ends (`Retry-After`)."""

    slug = "backend-circuit-open"
    title = "The backend is failing; calls to it are paused"


class Conflict(ClientError):
    status = 409
    slug = "conflict"
    title = "The request conflicts with another one"


class IdempotencyKeyInFlight(Conflict):
    """A request with the same Idempotency-Key is still being served; retry later."""

    slug = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still in progress"


class IdempotencyKeyReused(ClientError):
    """The Idempotency-Key was used before for a different request (method, path or body)."""

    status = 422
    slug = "idempotency-key-reused"
    title = "This Idempotency-Key was used for a different request"


class PayloadTooLarge(ClientError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class HeadersTooLarge(ClientError):
    status = 431
    slug = "headers-too-large"
    title = "Request header fields too large"


class InvalidHeader(ClientError):
    """A value bound for a backend's header holds CR, LF or NUL: sent on, it would split
    the header and smuggle others in."""

    slug = "invalid-header"
    title = "A header value holds a forbidden character"

    def __init__(self, header: str) -> None:
        self.header = header
        super().__init__(
            f"The value for header {header} holds a CR, LF or NUL character; remove it"
        )

    def extensions(self) -> dict[str, Any]:
        return {"header": self.header}


class UnsupportedMediaType(ClientError):
    status = 415
    slug = "unsupported-media-type"
    title = "Request body must be JSON"


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a request: where it is, and what is wrong.

    `field` reads like the mapping's expressions (`body.Address.City`, `path.id`,
    `body.Tags[0]`); `pointer` is the same place as a JSON pointer into the request
    `{path, query, headers, body}` (`/body/Address/City`).
    """

    field: str
    message: str

    @property
    def pointer(self) -> str:
        parts = re.findall(r"[^.\[\]]+", self.field)
        return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class InvalidRequest(ClientError):
    """The request does not fit the operation; `errors` names every wrong field."""

    status = 422
    slug = "invalid-request"
    title = "Invalid request"

    def __init__(self, errors: list[FieldProblem], detail: str = "") -> None:
        self.errors = errors
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(detail or summary)

    def extensions(self) -> dict[str, Any]:
        return {
            "errors": [
                {"field": e.field, "pointer": e.pointer, "message": e.message} for e in self.errors
            ]
        }


class InvalidIdempotencyKey(InvalidRequest):
    """The Idempotency-Key header is empty, too long or holds characters a key may not."""

    status = 400
    slug = "invalid-idempotency-key"
    title = "Invalid Idempotency-Key"


class BackendError(FacadeError):
    status = 502
    slug = "backend-error"
    title = "The backend failed"


class BackendUnreachable(BackendError):
    slug = "backend-unreachable"
    title = "The backend could not be reached"


class BackendTimeout(BackendError):
    status = 504
    slug = "backend-timeout"
    title = "The backend did not answer in time"


class BackendReplyTooLarge(BackendError):
    """The reply passed the route's size cap while it was read; the rest was not read."""

    slug = "backend-reply-too-large"
    title = "The backend's reply is larger than this route accepts"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"The backend's reply passed {limit} bytes, the most this route reads")


class ResponseExpressionFailed(BackendError):
    """The route's response expression could not be applied to the backend's answer
    (`length(a)` where `a` is a number): the answer does not have the shape the route
    expects."""

    slug = "response-expression-failed"
    title = "The backend's answer does not have the shape this route expects"


class BackendBadResponse(BackendError):
    """The backend answered with something that is not a usable SOAP reply."""

    slug = "backend-bad-response"
    title = "The backend answered with something that is not a usable SOAP reply"

    def __init__(self, *, http_status: int | None = None) -> None:
        self.http_status = http_status
        detail = self.title if http_status is None else f"{self.title} (HTTP {http_status})"
        super().__init__(detail)

    def extensions(self) -> dict[str, Any]:
        return {} if self.http_status is None else {"backend_status": self.http_status}


class BackendHtmlResponse(BackendBadResponse):
    slug = "backend-html-response"
    title = "The backend answered with an HTML page instead of SOAP"


class BackendEmptyResponse(BackendBadResponse):
    slug = "backend-empty-response"
    title = "The backend answered with an empty body"


class BackendMalformedXml(BackendBadResponse):
    slug = "backend-malformed-xml"
    title = "The backend answered with malformed XML"


class BackendNotSoap(BackendBadResponse):
    slug = "backend-not-soap"
    title = "The backend answered with XML that is not a SOAP envelope"


class BackendUnexpectedResponse(BackendBadResponse):
    slug = "backend-unexpected-response"
    title = "The backend's SOAP reply does not match its WSDL"


PUBLIC_TEXT_LIMIT = 300
"""A backend's message is shown up to 300 characters: a sentence, never a dump."""
_TRACE_LINE = re.compile(
    r"Traceback \(most recent call last\)"  # Python
    r"|^\s*at [\w$.<>]+\("  # Java, .NET
    r"|^\s*File \"[^\"]+\", line \d+"  # Python frame
    r"|\b(?:[a-z_][\w]*\.)+[A-Z]\w*(?:Exception|Error)\b"  # java.lang.NullPointerException
    r"|^\s*#\d+ \S+\(",  # PHP
    re.MULTILINE,
)
_USERINFO = re.compile(r"(?<=://)[^/\s@]+@")


def public_text(text: str) -> str:
    """What of a backend's own message may reach a client: its first line, without the
    credentials of any URL in it, and nothing at all when it holds a stack trace."""
    if _TRACE_LINE.search(text):
        return ""
    first = text.strip().split("\n", 1)[0].strip()
    return _USERINFO.sub("", first)[:PUBLIC_TEXT_LIMIT]


class SoapFault(BackendError):
    """A SOAP fault from the backend, at the status the mapping chose for it.

    What a client sees of the fault depends on whether the mapping maps it: a mapped fault
    is part of the route's contract, so its code, message and detail are shown; an unmapped
    client fault shows its code and message (they say what to fix) but not its detail; an
    unmapped server fault says only that the backend failed, since its text is often a
    stack trace or an internal host name.
    """

    slug = "soap-fault"
    title = "The backend reported a fault"

    def __init__(
        self,
        *,
        code: str,
        message: str,
        detail: Any,
        status: int,
        subcodes: tuple[str, ...] = (),
        mapped: bool = True,
    ) -> None:
        self.code = code
        self.message = public_text(message)
        self.fault_detail = detail
        self.subcodes = subcodes
        self.mapped = mapped
        public = self.message if mapped or status < 500 else ""
        super().__init__(public or self.title, status=status)

    def extensions(self) -> dict[str, Any]:
        if not self.mapped and self.status >= 500:
            return {}
        fault: dict[str, Any] = {"code": self.code, "message": self.message}
        if not self.mapped:
            return {"fault": fault}
        if self.subcodes:
            fault["subcodes"] = list(self.subcodes)
        if self.fault_detail is not None:
            fault["detail"] = self.fault_detail
        return {"fault": fault}


class BackendRejected(ClientError):
    """The new side refused the request with a 4xx; its status is passed on.

    Only JSON from the new side travels on (`detail` when it gave a string one, the whole
    document under `backend`); any other body is dropped, never forwarded raw.
    """

    slug = "backend-rejected"
    title = "The backend refused the request"

    PASSED_HEADERS: ClassVar[tuple[str, ...]] = ("Allow", "Retry-After", "WWW-Authenticate")
    """Headers a 401, 405 or 429 needs to mean anything; they travel on with the status."""

    def __init__(
        self, status: int, document: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        self.document = document
        given = {k.lower(): v for k, v in (headers or {}).items()}
        self.passed = {h: given[h.lower()] for h in self.PASSED_HEADERS if h.lower() in given}
        detail = document.get("detail") if isinstance(document, dict) else None
        super().__init__(detail if isinstance(detail, str) else "", status=status)

    def extensions(self) -> dict[str, Any]:
        return {} if self.document is None else {"backend": self.document}

    def headers(self) -> dict[str, str]:
        return dict(self.passed)


class BackendHttpError(BackendError):
    """The new side answered with an error status (5xx), or a redirect it may not make."""

    slug = "backend-http-error"
    title = "The backend answered with an error"

    def __init__(self, http_status: int) -> None:
        self.http_status = http_status
        super().__init__(f"The backend answered HTTP {http_status}")

    def extensions(self) -> dict[str, Any]:
        return {"backend_status": self.http_status}


class BackendNotJson(BackendError):
    """The new side's successful answer is not JSON; its body is not shown."""

    slug = "backend-not-json"
    title = "The backend's answer is not JSON"


@dataclass(frozen=True)
class ConfigProblem:
    """One located problem in a mapping file or WSDL, with how to fix it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class ConfigError(Exception):
    """Mapping files or WSDLs that cannot be served; holds every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
