"""Every error the facade reports, and the HTTP status each one owns.

    FacadeError                      500 internal-error
      ClientError                    400 bad-request
        RouteNotFound                404 not-found
        PayloadTooLarge              413 payload-too-large
        UnsupportedMediaType         415 unsupported-media-type
        InvalidRequest               422 invalid-request (errors: [{field, message}])
      BackendError                   502 backend-error
        BackendUnreachable           502 backend-unreachable
        BackendTimeout               504 backend-timeout
        BackendBadResponse           502 backend-bad-response
          BackendHtmlResponse        502 backend-html-response
          BackendEmptyResponse       502 backend-empty-response
          BackendMalformedXml        502 backend-malformed-xml
          BackendNotSoap             502 backend-not-soap
          BackendUnexpectedResponse  502 backend-unexpected-response
        SoapFault                    status chosen by the mapping, soap-fault

    ConfigError                      not an HTTP error: a list of located problems in
                                     mapping files or WSDLs, raised at load and by `facade check`

Each class carries a public message only. The raw text of a backend reply or of a
zeep/httpx exception never reaches a client: zeep puts the backend's body in its
TransportError message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_TYPE_PREFIX = "urn:facade:problem:"


class FacadeError(Exception):
    """Base of every error that becomes a problem+json response."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"
    side: str | None = None
    """The backend side that failed, when one did (set by the pipeline)."""

    def __init__(self, detail: str = "", *, status: int | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if status is not None:
            self.status = status  # type: ignore[misc]

    @property
    def type(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug

    def extensions(self) -> dict[str, Any]:
        """Extra members of the problem document, beyond type/title/status/detail."""
        return {}


class ClientError(FacadeError):
    status = 400
    slug = "bad-request"
    title = "Bad request"


class RouteNotFound(ClientError):
    status = 404
    slug = "not-found"
    title = "Not found"


class PayloadTooLarge(ClientError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


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


class SoapFault(BackendError):
    """A SOAP fault from the backend, at the status the mapping chose for it."""

    slug = "soap-fault"
    title = "The backend reported a fault"

    def __init__(
        self, *, code: str, message: str, detail: Any, status: int, subcodes: tuple[str, ...] = ()
    ) -> None:
        self.code = code
        self.message = message
        self.fault_detail = detail
        self.subcodes = subcodes
        super().__init__(message or self.title, status=status)

    def extensions(self) -> dict[str, Any]:
        fault: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.subcodes:
            fault["subcodes"] = list(self.subcodes)
        if self.fault_detail is not None:
            fault["detail"] = self.fault_detail
        return {"fault": fault}


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
