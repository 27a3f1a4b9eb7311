"""`/v1/realtime?intent=transcription`: OpenAI's Realtime transcription sessions over a WebSocket.

This edge authenticates (a Bearer header, or the `openai-insecure-api-key.<key>` subprotocol that
browsers use), parses each client message into an event (a message it cannot parse becomes an
`error` event, and the session goes on), runs the session, and sends its events as JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import anyio
import msgspec
import structlog
from litestar import Request, WebSocket, post, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect
from litestar.params import JSONBody

from app.api.auth import ANONYMOUS, bearer, realtime_owner
from app.config.api_keys import ApiKeys
from app.config.settings import Settings
from app.domain.errors import DomainError, InvalidRequest
from app.domain.models import ClientSecret
from app.schemas.realtime import (
    ClientSecretRequest,
    ClientSecretResponse,
    RealtimeClientEvent,
    RealtimeErrorBody,
    RealtimeErrorEvent,
    RealtimeServerEvent,
    error_of,
    internal_error,
)
from app.services.client_secrets import ClientSecrets, is_client_secret
from app.services.errors import ApiKeyRefused, ForeignPage
from app.services.realtime import RealtimeService, SessionClosed
from app.services.realtime.config import RealtimeEventError
from app.services.realtime.protocol import encode_event, parse_event

logger = structlog.get_logger(__name__)

KEY_SUBPROTOCOL = "openai-insecure-api-key."
KEY_HOW = f"as 'Authorization: Bearer <key>' or the '{KEY_SUBPROTOCOL}<key>' subprotocol"
# WebSocket close codes (RFC 6455): a refused key, a full server, a server fault.
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
INTERNAL_ERROR = 1011

# Events longer than this (appends of more than ~0.5 s of audio/pcm) are parsed in a worker thread.
PARSE_IN_THREAD_CHARS = 64 * 1024


class _Connection:
    """Sends events while the client is there; after it has gone, sending does nothing."""

    def __init__(self, socket: WebSocket) -> None:
        self.socket = socket
        self.open = True

    async def send(self, event: RealtimeServerEvent) -> None:
        if not self.open:
            return
        try:
            await self.socket.send_data(encode_event(event), mode="text")
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.open = False

    async def events(self) -> AsyncIterator[RealtimeClientEvent | RealtimeErrorBody]:
        while self.open:
            try:
                message = await self.socket.receive()
            except WebSocketDisconnect:
                break
            if message["type"] == "websocket.disconnect":
                break
            text, data = cast(str | None, message.get("text")), cast(bytes | None, message.get("bytes"))
            if text is not None and len(text) > PARSE_IN_THREAD_CHARS:  # a large append: not on the event loop
                yield await anyio.to_thread.run_sync(parse_event, text, data)
            else:
                yield parse_event(text, data)
        self.open = False

    async def refuse(self, code: int, error: RealtimeErrorBody) -> None:
        await self.send(_error_event(error))
        await self.close(code, error.message)

    async def close(self, code: int, reason: str) -> None:
        if self.open:
            self.open = False
            try:
                await self.socket.close(code=code, reason=reason[:120])  # a close reason has 123 bytes at most
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass


def _error_event(error: RealtimeErrorBody) -> RealtimeServerEvent:
    return RealtimeErrorEvent(event_id="event_refused", error=error)


def presented_key(socket: WebSocket) -> str | None:
    key = bearer(socket)
    if key is not None:
        return key
    for protocol in socket.scope.get("subprotocols") or []:
        if protocol.startswith(KEY_SUBPROTOCOL):
            return protocol[len(KEY_SUBPROTOCOL) :]
    return None


def chosen_subprotocol(socket: WebSocket) -> str | None:
    """A browser that offers subprotocols fails the handshake unless one is echoed: `realtime` if
    offered, else the first one that does not carry a key."""
    offered = [p for p in socket.scope.get("subprotocols") or [] if not p.startswith(KEY_SUBPROTOCOL)]
    return "realtime" if "realtime" in offered else (offered[0] if offered else None)


def admission(
    socket: WebSocket, api_keys: ApiKeys, trusted_hosts: list[str], secret: ClientSecret | None = None
) -> RealtimeErrorBody | str | None:
    """Why this connection is refused, or the owner id of its key (None on a server without keys)."""
    intent = socket.query_params.get("intent")
    if intent not in (None, "transcription") or (intent is None and socket.query_params.get("model")):
        return RealtimeErrorBody(
            type="invalid_request_error",
            code="unsupported_intent",
            param="intent",
            message="This server runs transcription sessions only: connect with `?intent=transcription`.",
        )
    try:
        return realtime_owner(socket, api_keys, trusted_hosts, presented_key(socket), secret, how=KEY_HOW)
    except (ApiKeyRefused, ForeignPage) as refused:
        return error_of(refused)


@websocket("/v1/realtime")
async def realtime_session(
    socket: WebSocket,
    realtime: NamedDependency[RealtimeService],
    api_keys: NamedDependency[ApiKeys],
    settings: NamedDependency[Settings],
    client_secrets: NamedDependency[ClientSecrets],
) -> None:
    await socket.accept(subprotocols=chosen_subprotocol(socket))
    connection = _Connection(socket)
    key, secret = presented_key(socket), None
    if key is not None and is_client_secret(key):
        try:
            secret = await anyio.to_thread.run_sync(client_secrets.redeem, key)
        except ApiKeyRefused as refused:
            await connection.refuse(POLICY_VIOLATION, error_of(refused))
            return
    owner = admission(socket, api_keys, settings.trusted_hosts, secret)
    if isinstance(owner, RealtimeErrorBody):
        await connection.refuse(POLICY_VIOLATION, owner)
        return
    try:
        # Whose enrolled voices it may name: the key's (the secret's maker's), or the anonymous owner's.
        registry_owner = secret.owner if secret is not None else owner if owner is not None else ANONYMOUS
        async with realtime.session(connection.send, owner, registry_owner) as session:
            logger.info("realtime session opened", session=session.id, client_secret=secret is not None)
            try:
                # A client secret's session is configured as it was made, as if the page had sent that.
                configured = (
                    parse_event(f'{{"type":"session.update","session":{secret.session.decode()}}}', None)
                    if secret is not None
                    else None
                )
                await session.serve(connection.events(), configured)
            finally:
                logger.info("realtime session closed", session=session.id)
    except SessionClosed as closed:
        await connection.close(closed.code, closed.reason)
    except DomainError as exc:
        await connection.refuse(TRY_AGAIN_LATER, error_of(exc))
    except Exception:
        logger.exception("realtime session failed")
        await connection.refuse(INTERNAL_ERROR, internal_error("The server had an error; the session has ended."))
    else:
        await connection.close(1000, "")


@post("/v1/realtime/client_secrets", status_code=200, operation_id="createRealtimeClientSecret")
async def create_client_secret(
    request: Request,
    data: JSONBody[ClientSecretRequest],
    realtime: NamedDependency[RealtimeService],
    client_secrets: NamedDependency[ClientSecrets],
) -> ClientSecretResponse:
    """OpenAI's ephemeral key: made with a real API key (a client secret cannot make another), for a
    browser to open one realtime transcription session configured as `session` says."""
    if is_client_secret(bearer(request)):
        raise ApiKeyRefused("A client secret cannot make client secrets: use an API key.")
    try:
        view = realtime.configured(data.session)
    except RealtimeEventError as exc:  # named as the body's field: the session is `session` here, as in the event
        raise InvalidRequest(exc.message, param=exc.param, code=exc.code) from None
    value, expires_at = await anyio.to_thread.run_sync(
        client_secrets.create, request.state.owner, msgspec.json.encode(data.session), data.expires_after.seconds
    )
    return ClientSecretResponse(value=value, expires_at=expires_at, session=view)
