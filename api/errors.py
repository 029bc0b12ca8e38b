"""Every error leaves the API as RFC 9457 problem details with a stable machine-readable `code`.

Client faults carry their own status and code; an unreachable database or rate-limit store is a
503 with Retry-After (the client should retry the same events later); anything else is a 500
whose body says nothing about internals (the traceback goes to the log only).
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from psycopg_pool import PoolTimeout

from everreach.platform import INGEST_REJECTED_REQUESTS, ClientFault, RateLimiterUnavailable

PROBLEM_MEDIA_TYPE = "application/problem+json"
_PROBLEM_DESCRIPTIONS = {
    400: "Malformed request: a value breaks a rule; `field` names it when there is one",
    401: "Missing, invalid or revoked credentials (bearer token, api_key or write key)",
    403: "Authenticated, but not allowed (admins only)",
    404: "Nothing with this identifier",
    409: "Conflicts with the current state (a taken email, the last admin)",
    413: "The body or a batch is larger than allowed",
    415: "Unsupported content type or encoding",
    422: "Well-formed but invalid: the detail names the JSON path of the fault",
    429: "Rate-limited or throttled: retry after `Retry-After` seconds",
    503: "A backing service is unreachable: retry after `Retry-After` seconds",
}
PROBLEM_TYPE_BASE = "https://everreach.dev/problems/"
RETRY_AFTER_UNAVAILABLE_S = 5

log = structlog.get_logger(__name__)


class Problem(msgspec.Struct, kw_only=True):
    """RFC 9457 problem details, as every error of this API is answered."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    retry_after_s: int | None = None


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI responses of an operation's error statuses, each a `Problem` document."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_MEDIA_TYPE,
            description=_PROBLEM_DESCRIPTIONS[status],
            generate_examples=False,
        )
        for status in statuses
    }


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    title: str | None = None,
) -> Response[dict[str, Any]]:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extra:
        body.update(extra)
    return Response(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _client_fault(request: Request, exc: ClientFault) -> Response[dict[str, Any]]:
    if request.url.path.startswith("/v1/ingest"):
        INGEST_REJECTED_REQUESTS.labels(exc.code).inc()
    return problem_response(exc.status, exc.code, exc.detail, headers=exc.headers, extra=exc.extra)


def _http_exception(request: Request, exc: HTTPException) -> Response[dict[str, Any]]:
    """Litestar's own errors (404, 405, body validation) in the same shape as ours."""
    code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
        429: "too_many_requests",
    }.get(exc.status_code, "http_error")
    extra = {"errors": exc.extra} if exc.extra else None
    return problem_response(exc.status_code, code, exc.detail, headers=exc.headers, extra=extra)


def _unavailable(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    log.warning("dependency unavailable", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        503,
        "service_unavailable",
        "a backing service is unreachable; retry the same request later, nothing was stored",
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )


def _unstorable(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    """A value Postgres refuses (a NUL character, a number out of range): the client's to fix.

    Validation should catch these first; this keeps a value it missed from becoming a 500.
    """
    log.warning("value refused by the database", path=request.url.path, error=str(exc))
    return problem_response(
        422, "unstorable_value", "a value in the request cannot be stored; nothing was stored"
    )


def _internal(request: Request, exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error", path=request.url.path)
    return problem_response(500, "internal_error", "an unexpected error occurred")


EXCEPTION_HANDLERS = {
    ClientFault: _client_fault,
    HTTPException: _http_exception,
    psycopg.OperationalError: _unavailable,
    psycopg.DataError: _unstorable,
    PoolTimeout: _unavailable,
    RateLimiterUnavailable: _unavailable,
    Exception: _internal,
}
