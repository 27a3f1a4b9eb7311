"""`/v1/realtime/calls`: OpenAI's WebRTC calls. A browser posts its SDP offer (`application/sdp`, with a
client secret as its Bearer key, as OpenAI's browser guide does) or a backend posts the SDK's form
(`sdp` + `session`); the answer comes back (201, `Location` naming the call) and the call runs as a
realtime session until either side hangs up.

A page on another site may call (the key, not a cookie, is the credential), so these routes answer
CORS themselves; a server without API keys still refuses other sites' pages unless they hold a
client secret its own backend made."""

from __future__ import annotations

import anyio
import msgspec
from litestar import Request, Response, delete, post, route
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.types import ExceptionHandlersMap

from app.api.auth import ANONYMOUS, bearer, realtime_owner
from app.api.errors import domain_error_handler
from app.config.api_keys import ApiKeys
from app.config.settings import Settings
from app.domain.errors import DomainError, InvalidRequest
from app.domain.models import ClientSecret
from app.schemas.errors import ErrorResponse
from app.schemas.realtime import RealtimeSessionUpdate, SessionUpdateEvent
from app.services.client_secrets import ClientSecrets, is_client_secret
from app.services.errors import RequestTooLarge
from app.services.realtime import RealtimeService
from app.services.realtime.calls import RealtimeCalls
from app.services.realtime.config import RealtimeEventError
from app.services.realtime.protocol import parse_event

CALLS_PATH = "/v1/realtime/calls"
SDP = "application/sdp"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Location",
}


def _error_with_cors(request: Request, exc: DomainError) -> Response[ErrorResponse]:
    """A refused call is readable by the page that made it, like OpenAI's."""
    response = domain_error_handler(request, exc)
    response.headers.update(CORS_HEADERS)
    return response


ERRORS: ExceptionHandlersMap = {DomainError: _error_with_cors}


async def _caller(
    request: Request, api_keys: ApiKeys, settings: Settings, client_secrets: ClientSecrets
) -> tuple[str | None, str, ClientSecret | None]:
    """(the owner sessions count against, the owner whose enrolled voices may be named, the client secret)."""
    key, secret = bearer(request), None
    if key is not None and is_client_secret(key):
        secret = await anyio.to_thread.run_sync(client_secrets.redeem, key)
    owner = realtime_owner(request, api_keys, settings.trusted_hosts, key, secret)
    registry_owner = secret.owner if secret is not None else owner if owner is not None else ANONYMOUS
    return owner, registry_owner, secret


async def _offer(request: Request, limit: int) -> tuple[str, bytes | None]:
    """The SDP offer and the `session` JSON (multipart only), within REALTIME__MAX_SDP_BYTES."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > 2 * limit:
        raise RequestTooLarge(f"A call's offer may be {limit} bytes at most (REALTIME__MAX_SDP_BYTES).")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == SDP:
        body = await request.body()
        if len(body) > limit:
            raise RequestTooLarge(f"A call's offer may be {limit} bytes at most (REALTIME__MAX_SDP_BYTES).")
        return body.decode("utf-8", "replace"), None
    if media_type != "multipart/form-data":
        raise InvalidRequest(
            f"Send the offer as '{SDP}', or as multipart/form-data with `sdp` and `session` fields.",
            param="sdp",
            code="unsupported_media_type",
        )
    form = await request.form()
    sdp, session = await _field(form.get("sdp")), await _field(form.get("session"))
    if not sdp:
        raise InvalidRequest("Missing `sdp`: the WebRTC offer.", param="sdp", code="missing_required_parameter")
    if len(sdp) > limit:
        raise RequestTooLarge(f"A call's offer may be {limit} bytes at most (REALTIME__MAX_SDP_BYTES).")
    return sdp.decode("utf-8", "replace"), session or None


async def _field(value: object) -> bytes:
    """A form field as bytes, whether the client sent it as a value or as a file part (the SDK does)."""
    if isinstance(value, UploadFile):
        return await value.read()
    return str(value).encode() if value is not None else b""


def _configured(realtime: RealtimeService, session: bytes | None) -> SessionUpdateEvent | None:
    """The session's first configuration, checked now so a bad one is a 400, not a call that fails."""
    if session is None:
        return None
    try:
        update = msgspec.json.decode(session, type=RealtimeSessionUpdate)
        realtime.configured(update)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"Invalid `session`: {str(exc)[:300]}", param="session") from None
    except msgspec.DecodeError:
        raise InvalidRequest("`session` is not JSON.", param="session") from None
    except RealtimeEventError as exc:
        raise InvalidRequest(exc.message, param=exc.param, code=exc.code) from None
    return SessionUpdateEvent(session=update)


@post(CALLS_PATH, operation_id="createRealtimeCall", status_code=201, exception_handlers=ERRORS)
async def create_call(
    request: Request,
    calls: NamedDependency[RealtimeCalls],
    realtime: NamedDependency[RealtimeService],
    api_keys: NamedDependency[ApiKeys],
    settings: NamedDependency[Settings],
    client_secrets: NamedDependency[ClientSecrets],
) -> Response[bytes]:
    owner, registry_owner, secret = await _caller(request, api_keys, settings, client_secrets)
    offer, session = await _offer(request, settings.realtime.max_sdp_bytes)
    if secret is not None and session is not None:
        raise InvalidRequest(
            "A client secret carries its session's configuration: send `session` when making the secret.",
            param="session",
        )
    configured = (
        parse_event(f'{{"type":"session.update","session":{secret.session.decode()}}}', None)
        if secret is not None
        else _configured(realtime, session)
    )
    call_id, answer = await calls.start(offer, owner, registry_owner, configured)
    return Response(
        content=answer.encode(),
        status_code=201,
        media_type=SDP,
        headers={"Location": f"{CALLS_PATH}/{call_id}", **CORS_HEADERS},
    )


async def _hang_up(
    request: Request,
    call_id: FromPath[str],
    calls: NamedDependency[RealtimeCalls],
    api_keys: NamedDependency[ApiKeys],
    settings: NamedDependency[Settings],
    client_secrets: NamedDependency[ClientSecrets],
) -> Response[None]:
    """`DELETE /v1/realtime/calls/{id}`, and the SDK's `client.realtime.calls.hangup(call_id)`."""
    owner, _, _ = await _caller(request, api_keys, settings, client_secrets)
    await calls.hang_up(call_id, owner)
    return Response(content=None, status_code=204, headers=CORS_HEADERS)


delete_call = delete(
    f"{CALLS_PATH}/{{call_id:str}}", operation_id="deleteRealtimeCall", status_code=204, exception_handlers=ERRORS
)(_hang_up)
hang_up_call = post(
    f"{CALLS_PATH}/{{call_id:str}}/hangup",
    operation_id="hangupRealtimeCall",
    status_code=204,
    exception_handlers=ERRORS,
)(_hang_up)


@route(
    [CALLS_PATH, f"{CALLS_PATH}/{{call_id:str}}", f"{CALLS_PATH}/{{call_id:str}}/hangup"],
    http_method=HttpMethod.OPTIONS,
)
async def calls_preflight() -> Response[None]:
    """A page on another site asks first whether it may post its offer with its key."""
    return Response(
        content=None,
        status_code=204,
        headers={
            **CORS_HEADERS,
            "Access-Control-Allow-Methods": "POST, DELETE",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
        },
    )


def call_routes() -> list[HTTPRouteHandler]:
    # The preflight first: Litestar adds an OPTIONS handler of its own to a path that has none yet.
    return [calls_preflight, create_call, delete_call, hang_up_call]
