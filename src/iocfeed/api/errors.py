"""The one place where exceptions become the error envelope.

    {"error": {"code": ..., "message": ..., "request_id": "req_...", "details": {...}}}

iocfeed's own errors carry their code and status; Litestar's routing errors (404, 405) and the
database being unreachable are translated here; anything else is a bug: logged with its traceback
under the request id, answered with a bare 500 `internal_error`. Under /api/taxii2/ the same
errors are re-expressed in TAXII 2.1's error message shape (`api.taxii_common.as_taxii_error`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, MethodNotAllowedException, NotFoundException
from sqlalchemy.exc import DBAPIError, OperationalError

from iocfeed.api.taxii_common import as_taxii_error, is_taxii_path
from iocfeed.errors import IocfeedError, RateLimited

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode


def request_id_of(request: Request) -> str:
    return request.scope.get("state", {}).get("request_id", "req_unknown")


def envelope(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    body: dict[str, Any] = {"code": code, "message": message, "request_id": request_id}
    if details:
        body["details"] = details
    return Response(
        content=_encode({"error": body}),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers or {},
    )


def handle_iocfeed_error(request: Request, exc: IocfeedError) -> Response[bytes]:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status >= 500:
        log.error("%s %s: %s", request_id_of(request), exc.code, exc.message)
    return envelope(exc.status, exc.code, exc.message, request_id_of(request), exc.details, headers)


def handle_http_exception(request: Request, exc: HTTPException) -> Response[bytes]:
    request_id = request_id_of(request)
    if isinstance(exc, NotFoundException):
        return envelope(404, "not_found", f"Nothing at {request.url.path}.", request_id)
    if isinstance(exc, MethodNotAllowedException):
        headers = dict(exc.headers or {})
        return envelope(
            405, "method_not_allowed", f"{request.method} is not allowed here.", request_id, headers=headers
        )
    if exc.status_code >= 500:
        log.error("%s http error %s: %s", request_id, exc.status_code, exc.detail)
        return envelope(500, "internal_error", "Internal error.", request_id)
    # Litestar's own 4xx (for example a malformed path parameter): keep the status, use our shape.
    return envelope(
        exc.status_code,
        "invalid_parameter" if exc.status_code == 400 else "bad_request",
        str(exc.detail),
        request_id,
    )


def handle_database_error(request: Request, exc: DBAPIError) -> Response[bytes]:
    request_id = request_id_of(request)
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        log.error("%s database unavailable: %s", request_id, type(exc.orig).__name__)
        return envelope(503, "unavailable", "The database cannot be reached; try again shortly.", request_id)
    log.exception("%s database error", request_id)
    return envelope(500, "internal_error", "Internal error.", request_id)


def handle_unexpected(request: Request, exc: Exception) -> Response[bytes]:
    request_id = request_id_of(request)
    log.exception("%s unhandled %s", request_id, type(exc).__name__)
    return envelope(500, "internal_error", "Internal error.", request_id)


ErrorHandler = Callable[[Request, Any], Response[bytes]]


def taxii_aware(handler: ErrorHandler) -> ErrorHandler:
    """Under /api/taxii2/ the same error, status and headers, in TAXII's error message shape."""

    def handle(request: Request, exc: Any) -> Response[bytes]:
        response = handler(request, exc)
        return as_taxii_error(response) if is_taxii_path(request.url.path) else response

    return handle


EXCEPTION_HANDLERS = {
    IocfeedError: taxii_aware(handle_iocfeed_error),
    HTTPException: taxii_aware(handle_http_exception),
    DBAPIError: taxii_aware(handle_database_error),
    Exception: taxii_aware(handle_unexpected),
}
