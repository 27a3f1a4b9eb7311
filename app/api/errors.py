"""Every error leaves as OpenAI's envelope: {"error": {"message", "type", "param", "code"}}.

Domain errors carry their own status and code (app/domain/errors.py); this module only renders
them, and Litestar's own HTTP errors, in that shape.
"""

from __future__ import annotations

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import HTTPResponseBodyEvent, Send

from app.api.middleware import current_request_id
from app.domain.errors import DomainError, error_type_of
from app.schemas.errors import ErrorBody, ErrorResponse
from app.services.errors import ClientGone

logger = structlog.get_logger(__name__)


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> ErrorBody:
    return ErrorBody(
        message=message, type=error_type_of(status), param=param, code=code, request_id=current_request_id.get()
    )


def domain_error_body(exc: DomainError) -> ErrorBody:
    return error_body(exc.status, exc.message, param=exc.param, code=exc.code)


def internal_error_body() -> ErrorBody:
    return error_body(500, "The server had an error while processing your request.", code="internal_error")


def error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[ErrorResponse]:
    body = ErrorResponse(error_body(status, message, param=param, code=code))
    return Response(body, status_code=status, headers=headers)


def domain_error_handler(_: Request, exc: DomainError) -> Response[ErrorResponse]:
    if isinstance(exc, ClientGone):
        logger.info("client disconnected before it was served; its request was dropped or stopped")
    elif exc.status >= 500:
        logger.warning("request failed", error=exc.message, code=exc.code)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return Response(ErrorResponse(domain_error_body(exc)), status_code=exc.status, headers=headers)


def http_error_handler(_: Request, exc: HTTPException) -> Response[ErrorResponse]:
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0] if isinstance(exc.extra[0], dict) else {}
        key = first.get("key")
        return error_response(
            exc.status_code,
            first.get("message", exc.detail),
            param=None if key in (None, "data") else key,
            code="invalid_value",
        )
    message = exc.detail
    if exc.status_code == 413:
        message = f"{exc.detail}: the upload is larger than the server's limit (MAX_UPLOAD_SIZE_BYTES)."
    code = {401: "invalid_api_key", 403: "permission_denied"}.get(exc.status_code)
    return error_response(exc.status_code, message, code=code, headers=exc.headers)


def internal_error_handler(_: Request, exc: Exception) -> Response[ErrorResponse]:
    logger.exception("unhandled error", exc_info=exc)
    return Response(ErrorResponse(internal_error_body()), status_code=500)


async def send_error(send: Send, status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> None:
    """The error envelope straight onto an ASGI connection, for the mounts Litestar does not render."""
    content = msgspec.json.encode(ErrorResponse(body))
    extra = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                *extra,
            ],
        }
    )
    body_event: HTTPResponseBodyEvent = {"type": "http.response.body", "body": content, "more_body": False}
    await send(body_event)
