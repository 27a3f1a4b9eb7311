"""Request ids and the one log line every request gets."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.services.metrics import Metrics

logger = structlog.get_logger("app.access")
REQUEST_ID_HEADER = "x-request-id"
# Accept a caller's id only if it is short and plain, so it cannot forge log lines.
_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# The current request's id, for error bodies; set for the whole request, streamed body included.
current_request_id: ContextVar[str | None] = ContextVar("current_request_id", default=None)


def client_request_id(scope: Scope) -> str | None:
    """The X-Request-ID the client sent, when it is well formed."""
    for name, value in scope.get("headers", []):
        if name.decode("latin-1").lower() == REQUEST_ID_HEADER:
            candidate = value.decode("latin-1")
            if _WELL_FORMED_ID.match(candidate):
                return candidate
    return None


def request_id_from(scope: Scope) -> str:
    return client_request_id(scope) or uuid.uuid4().hex


class RequestLogMiddleware(ASGIMiddleware):
    """Wraps the whole app (see `create_app`), so 404s for unknown paths get an id and a line too."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: Callable[[], Metrics]) -> None:
        self.metrics = metrics  # asked on each request, as handlers' dependencies are

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        request_id = request_id_from(scope)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        id_token = current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self.metrics().observe_request(scope.get("path_template"), str(scope.get("method", "")), status, seconds)
            logger.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status,
                duration_ms=round(seconds * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()
            current_request_id.reset(id_token)
