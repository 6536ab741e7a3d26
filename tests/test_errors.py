"""The error tree: every error survives a trip through pickle (to and from the translator
process) with its type, status, message, extensions and headers."""

from __future__ import annotations

import pickle

import pytest

from facade.errors import (
    BackendHtmlResponse,
    BackendReplyTooLarge,
    BackendTimeout,
    FacadeError,
    FieldProblem,
    Forbidden,
    InvalidRequest,
    MethodNotAllowed,
    ServiceUnavailable,
    SoapFault,
    TooManyRequests,
    Unauthorized,
)

ERRORS: list[FacadeError] = [
    FacadeError(),
    InvalidRequest([FieldProblem("path.id", "expected xsd:int")]),
    MethodNotAllowed("PUT", ("GET", "HEAD")),
    Unauthorized(challenge='Bearer realm="facade"'),
    Forbidden("not yours"),
    TooManyRequests(retry_after=2.5),
    ServiceUnavailable(retry_after=0.2),
    BackendTimeout("The backend did not answer within 3 s"),
    BackendReplyTooLarge(1024),
    BackendHtmlResponse(http_status=503),
    SoapFault(code="Client", message="no", detail={"a": 1}, status=404, subcodes=("x",)),
    SoapFault(code="Server", message="db01 down", detail=None, status=502, mapped=False),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_error_survives_pickle(error: FacadeError) -> None:
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is type(error)
    assert (copy.status, copy.type, copy.detail, str(copy)) == (
        error.status,
        error.type,
        error.detail,
        str(error),
    )
    assert copy.extensions() == error.extensions()
    assert copy.headers() == error.headers()


def test_headers_each_error_owns() -> None:
    assert MethodNotAllowed("PUT", ("GET", "HEAD")).headers() == {"Allow": "GET, HEAD"}
    assert TooManyRequests(retry_after=2.5).headers() == {"Retry-After": "3"}
    assert ServiceUnavailable(retry_after=0.2).headers() == {"Retry-After": "1"}
    assert Unauthorized().headers() == {"WWW-Authenticate": "Bearer"}
    assert (Unauthorized().status, Forbidden().status, TooManyRequests().status) == (401, 403, 429)
    assert ServiceUnavailable().status == 503


def test_unmapped_server_fault_says_only_that_the_backend_failed() -> None:
    fault = SoapFault(code="Server", message="db01 down", detail="trace", status=502, mapped=False)
    assert fault.detail == "The backend reported a fault"
    assert fault.extensions() == {}
