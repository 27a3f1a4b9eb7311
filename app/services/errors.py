"""Errors of serving a request rather than of its work: API keys, admission, uploads, live sessions.

They render like every DomainError (status, OpenAI's type, code), so the edges treat them alike.
"""

from __future__ import annotations

from app.domain.errors import RETRY_AFTER_SECONDS, DomainError


class ApiKeyRefused(DomainError):
    """No API key, or one this server does not know."""

    status = 401
    code = "invalid_api_key"


class ForeignPage(DomainError):
    """A server without API keys refuses browsers on other sites' pages (TRUSTED_HOSTS)."""

    status = 403
    code = "permission_denied"


class Overloaded(DomainError):
    """More requests than MAX_CONCURRENT_TRANSCRIPTIONS + MAX_QUEUED_REQUESTS."""

    status = 429
    code = "rate_limit_exceeded"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, running: int, queued: int) -> None:
        super().__init__(
            f"The server is busy ({running} transcriptions running, {queued} waiting); retry after "
            f"{RETRY_AFTER_SECONDS} seconds."
        )


class Draining(DomainError):
    """The server is shutting down: it finishes what it has and takes nothing new."""

    status = 503
    code = "shutting_down"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self) -> None:
        super().__init__("The server is shutting down; retry on another instance or in a moment.")


class TooManySessions(DomainError):
    """Every realtime session slot (REALTIME__MAX_SESSIONS), or every one a key may hold
    (REALTIME__MAX_SESSIONS_PER_KEY), is taken."""

    status = 429
    code = "session_limit_reached"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, limit: int, *, per_key: bool = False) -> None:
        whose = "This API key has its" if per_key else "The server has its"
        super().__init__(f"{whose} maximum of {limit} realtime sessions open; retry in a moment.")


class CallNotFound(DomainError):
    """No open WebRTC call has this id for this key."""

    status = 404
    code = "call_not_found"

    def __init__(self, call_id: str) -> None:
        super().__init__(f"No open call '{call_id[:64]}' of yours: it ended, or another key opened it.")


class UploadsBusy(DomainError):
    """More uploads streaming in at once than MAX_CONCURRENT_UPLOADS."""

    status = 429
    code = "rate_limit_exceeded"
    retry_after = RETRY_AFTER_SECONDS

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"The server is receiving {limit} uploads already (MAX_CONCURRENT_UPLOADS); retry after "
            f"{RETRY_AFTER_SECONDS} seconds."
        )


class RequestTooLarge(DomainError):
    """A request body past its endpoint's limit (uploads get Litestar's own 413)."""

    status = 413
    code = "request_too_large"


class UploadTimedOut(DomainError):
    """The request body did not arrive within UPLOAD_TIMEOUT_SECONDS."""

    status = 408
    code = "upload_timeout"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The upload did not arrive within {seconds:g} seconds (UPLOAD_TIMEOUT_SECONDS).", param="file"
        )


class ClientGone(DomainError):
    """The client disconnected before its request was served (mid-upload, while queued, or while it ran:
    its work then stopped at its next checkpoint)."""

    status = 499  # nginx's "client closed request": nobody reads it, the access log shows the drop
    code = "client_closed_request"

    def __init__(self) -> None:
        super().__init__("The client closed the connection before the request was served.")
