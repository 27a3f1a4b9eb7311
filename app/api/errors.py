"""Every error leaves as OpenAI's envelope: {"error": {"message", "type", "param", "code"}}."""

from __future__ import annotations

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from app.api.admission import RETRY_AFTER_SECONDS, ClientGone, Draining, Overloaded
from app.api.middleware import current_request_id
from app.api.schemas import ErrorBody, ErrorResponse
from app.domain.jobs import JobNotFinished, JobNotFound, JobQueueFull
from app.domain.errors import (
    AlignmentUnavailable,
    DomainError,
    InvalidAudio,
    InvalidRequest,
    ModelLoadFailed,
    ModelNotFound,
    StageUnavailable,
)

logger = structlog.get_logger(__name__)

# Most specific first: the first class an error is an instance of decides its status.
_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (ModelNotFound, 404),
    (JobNotFound, 404),
    (JobNotFinished, 409),
    (JobQueueFull, 429),
    (InvalidAudio, 400),
    (InvalidRequest, 400),
    (ModelLoadFailed, 503),
    (StageUnavailable, 503),
    (AlignmentUnavailable, 503),
)


def status_of(exc: DomainError) -> int:
    return next((status for cls, status in _STATUS if isinstance(exc, cls)), 400)


def error_type(status: int) -> str:
    return "invalid_request_error" if status < 500 else "server_error"


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> ErrorBody:
    return ErrorBody(message=message, type=error_type(status), param=param, code=code,
                     request_id=current_request_id.get())


def domain_error_body(exc: DomainError) -> ErrorBody:
    return error_body(status_of(exc), exc.message, param=exc.param, code=exc.code)


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None,
                   headers: dict[str, str] | None = None) -> Response[ErrorResponse]:
    body = ErrorResponse(error_body(status, message, param=param, code=code))
    return Response(body, status_code=status, headers=headers)


def domain_error_handler(_: Request, exc: DomainError) -> Response[ErrorResponse]:
    status = status_of(exc)
    if status >= 500:
        logger.warning("request failed", error=exc.message, code=exc.code)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 429 else None
    return Response(ErrorResponse(domain_error_body(exc)), status_code=status, headers=headers)


def http_error_handler(_: Request, exc: HTTPException) -> Response[ErrorResponse]:
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0] if isinstance(exc.extra[0], dict) else {}
        key = first.get("key")
        return error_response(exc.status_code, first.get("message", exc.detail),
                              param=None if key in (None, "data") else key, code="invalid_value")
    message = exc.detail
    if exc.status_code == 413:
        message = f"{exc.detail}: the upload is larger than the server's limit (MAX_UPLOAD_SIZE_BYTES)."
    code = {401: "invalid_api_key", 403: "permission_denied"}.get(exc.status_code)
    return error_response(exc.status_code, message, code=code, headers=exc.headers)


def overloaded_handler(_: Request, exc: Overloaded) -> Response[ErrorResponse]:
    return error_response(429, str(exc), code="rate_limit_exceeded", headers={"Retry-After": str(exc.retry_after)})


def draining_handler(_: Request, exc: Draining) -> Response[ErrorResponse]:
    return error_response(503, str(exc), code="shutting_down", headers={"Retry-After": str(exc.retry_after)})


def client_gone_handler(_: Request, exc: ClientGone) -> Response[ErrorResponse]:
    # Nobody reads this answer; 499 (nginx's "client closed request") marks the drop in the access log.
    logger.info("client disconnected before it was served; dropped without inference")
    return error_response(499, "The client closed the connection before the request was served.",
                          code="client_closed_request")


def internal_error_handler(_: Request, exc: Exception) -> Response[ErrorResponse]:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "The server had an error while processing your request.", code="internal_error")
