"""The Model Context Protocol endpoint (`/mcp`, streamable HTTP): the same service for AI agents.

Tools: `transcribe`, `translate`, `list_models`, `job_status`. They go through the HTTP API's own
parser and the application service, behind the same API keys (the mount is guarded like every API
route) and limits; a tool's error is the API's error message. Each tool returns the rendered text,
and for JSON formats the structured result as well.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, cast

import anyio
import msgspec
from litestar import asgi
from litestar.connection import ASGIConnection
from litestar.types import Guard, Receive, ReceiveMessage, Scope, Send
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent

from app.api.auth import foreign_browser_refusal
from app.api.errors import domain_error_body, error_body, send_error
from app.api.models import Stages
from app.config.api_keys import ApiKeys
from app.config.settings import Settings
from app.domain.errors import DomainError, InvalidRequest
from app.domain.model_policy import ModelPolicy
from app.domain.ports.rendering import Formatter
from app.schemas.jobs import job_view
from app.services.admission import UploadGate
from app.services.audio_requests import AudioRequestParser, fields_from
from app.services.errors import ClientGone, RequestTooLarge
from app.services.jobs import JobService
from app.services.transcription import Caller, Finished, TranscriptionService

MCP_PATH = "/mcp"
# A tool call's JSON around its audio_base64.
ENVELOPE_BYTES = 1024 * 1024
# The API key's owner id of the request being served; tool calls run in tasks started from it.
_owner: ContextVar[str] = ContextVar("mcp_owner")


class McpEndpoint:
    """The tools, over providers that are called on each use (so container overrides apply)."""

    def __init__(
        self,
        service: Callable[[], TranscriptionService],
        parser: Callable[[], AudioRequestParser],
        formatters: Callable[[], Mapping[str, Formatter]],
        jobs: Callable[[], JobService],
        stages: Callable[[], Stages],
        settings: Callable[[], Settings],
        uploads: Callable[[], UploadGate],
        api_keys: Callable[[], ApiKeys],
        model_policy: Callable[[], ModelPolicy],
    ) -> None:
        self.service, self.parser, self.formatters = service, parser, formatters
        self.jobs, self.stages, self.settings = jobs, stages, settings
        self.uploads, self.api_keys, self.model_policy = uploads, api_keys, model_policy
        # Stateless: every HTTP request is complete in itself, so any replica can serve any call.
        # Host checks are the API keys' job here, as on every other route.
        self.server = FastMCP(
            "whisperx-api-server",
            stateless_http=True,
            json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self.server.streamable_http_app()  # creates the session manager that `handle` and `running` use
        self._register_tools()

    @property
    def sessions(self) -> StreamableHTTPSessionManager:
        return self.server.session_manager

    def route(self, guards: list[Guard]):
        """The Litestar mount at /mcp, behind `guards` (the API key guard)."""

        @asgi(MCP_PATH, is_mount=True, copy_scope=True, guards=guards, include_in_schema=False)
        async def mcp_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
            refused = foreign_browser_refusal(ASGIConnection(scope), self.api_keys(), self.settings().trusted_hosts)
            if refused is not None:
                await send_error(send, 403, error_body(403, refused, code="permission_denied"))
                return
            try:
                body = await self.uploads().receive(lambda: _read_body(scope, receive, self.max_body_bytes))
            except ClientGone:
                return
            except DomainError as exc:
                headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
                await send_error(send, exc.status, domain_error_body(exc), headers)
                return
            token = _owner.set((scope.get("state") or {}).get("owner", "anonymous"))
            try:
                # The MCP SDK types ASGI messages as plain mappings; Litestar's are TypedDicts of the same shape.
                await self.sessions.handle_request(cast(Any, scope), cast(Any, _replay(body, receive)), cast(Any, send))
            finally:
                _owner.reset(token)

        return mcp_endpoint

    @property
    def max_body_bytes(self) -> int:
        """A tool call may carry the largest upload as base64, in its JSON."""
        return (self.settings().max_upload_size_bytes + 2) // 3 * 4 + ENVELOPE_BYTES

    def _register_tools(self) -> None:
        tool = self.server.tool

        @tool(
            description="Transcribe speech. Give exactly one of audio_url (http/https) and audio_base64 "
            "(the file's bytes, base64). response_format: json, verbose_json, text, srt, vtt, "
            "vtt_json, aud, diarized_json or rttm."
        )
        async def transcribe(
            audio_url: str | None = None,
            audio_base64: str | None = None,
            response_format: str = "json",
            language: str | None = None,
            diarize: bool = False,
            timestamp_granularities: list[str] | None = None,
        ) -> CallToolResult:
            fields = [("response_format", response_format), ("diarize", str(diarize).lower())]
            fields += [("language", language)] if language else []
            fields += [("timestamp_granularities[]", g) for g in timestamp_granularities or []]
            return await self._run(self.parser().transcription, fields, audio_url, audio_base64)

        @tool(description="Translate speech into English text. Give exactly one of audio_url and audio_base64.")
        async def translate(
            audio_url: str | None = None, audio_base64: str | None = None, response_format: str = "json"
        ) -> CallToolResult:
            return await self._run(
                self.parser().translation, [("response_format", response_format)], audio_url, audio_base64
            )

        @tool(description="The transcription models this server offers, and its default.")
        async def list_models() -> dict[str, Any]:
            stage, policy = self.stages()["transcription"], self.model_policy()
            names = await anyio.to_thread.run_sync(stage.store.requestable)
            return {"default": stage.default, "models": [n for n in names if policy.allows(n)]}

        @tool(description="The status of an async transcription job, or of a request sent with its own X-Request-ID.")
        async def job_status(job_id: str) -> dict[str, Any]:
            try:
                job = await anyio.to_thread.run_sync(self.jobs().get, job_id, _owner.get())
            except DomainError as exc:
                raise ToolError(exc.message) from None
            return msgspec.to_builtins(job_view(job))

    async def _run(
        self, parse: Callable[..., Any], fields: list[tuple[str, str]], audio_url: str | None, audio_base64: str | None
    ) -> CallToolResult:
        try:
            if (audio_url is None) == (audio_base64 is None):
                raise InvalidRequest("Give exactly one of 'audio_url' and 'audio_base64'.", param="audio_url")
            given = fields_from(fields)
            if audio_url is not None:
                request = parse({**given, "audio_url": [audio_url]}, None)
            else:
                request = parse(given, io.BytesIO(self._decoded(audio_base64 or "")))
            outcome = await self.service().handle(request, Caller(owner=_owner.get(), disconnected=anyio.sleep_forever))
        except DomainError as exc:
            raise ToolError(exc.message) from None
        assert isinstance(outcome, Finished)  # tools run synchronously: no `async`, no `stream`
        formatter = self.formatters()[outcome.response_format]
        body = formatter.render(outcome.transcript, outcome.render)
        text = body.decode() if isinstance(body, bytes) else body
        structured = msgspec.json.decode(body) if formatter.media_type == "application/json" else None
        return CallToolResult(content=[TextContent(type="text", text=text)], structuredContent=structured)

    def _decoded(self, data: str) -> bytes:
        limit = self.settings().max_upload_size_bytes
        if len(data) > (limit + 2) // 3 * 4 + 4:  # refuse before decoding what could not fit anyway
            raise InvalidRequest(
                f"'audio_base64' is larger than the server's limit of {limit} bytes.", param="audio_base64"
            )
        try:
            audio = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidRequest("'audio_base64' is not valid base64.", param="audio_base64") from None
        if len(audio) > limit:
            raise InvalidRequest(
                f"'audio_base64' is larger than the server's limit of {limit} bytes.", param="audio_base64"
            )
        return audio


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refused as soon as it passes `limit` (a declared length past it: at once)."""
    declared = ASGIConnection(scope).headers.get("content-length", "")
    too_large = RequestTooLarge(
        f"The request body is larger than this endpoint's limit of {limit} bytes "
        "(the base64 of MAX_UPLOAD_SIZE_BYTES, plus 1 MiB)."
    )
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = cast(bytes, message.get("body", b""))
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the MCP app: the body read already, then whatever the connection says next."""
    delivered = False

    async def replayed() -> ReceiveMessage:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
