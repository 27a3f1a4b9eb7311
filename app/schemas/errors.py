"""OpenAI's error object, as every failed request, stream and job reports it."""

from __future__ import annotations

import msgspec


class OpenAIError(msgspec.Struct, kw_only=True):
    """OpenAI's error object; a failed job keeps one."""

    message: str
    type: str
    param: str | None = None  # OpenAI always sends these keys, null when not applicable
    code: str | None = None


class ErrorBody(OpenAIError, kw_only=True):
    request_id: str | None = None  # the X-Request-ID of the failed request, for bug reports and logs


class ErrorResponse(msgspec.Struct):
    error: ErrorBody
