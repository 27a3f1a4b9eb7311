"""OpenAI's Realtime protocol as text, for every transport (WebSocket messages, a WebRTC call's data
channel): client events parsed (one that cannot be becomes an `error` the session sends back), server
events encoded, and the audio a call's microphone track carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec

from app.schemas.realtime import (
    REALTIME_CLIENT_EVENT_TYPES,
    RealtimeClientEvent,
    RealtimeErrorBody,
    RealtimeServerEvent,
)
from app.services.audio_requests import param_of

if TYPE_CHECKING:
    from app.domain.ports.audio import Samples

_decoder = msgspec.json.Decoder(RealtimeClientEvent)
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class MediaAudio:
    """Audio a WebRTC call's track carried, already 16 kHz mono: appended as an append event's would be."""

    samples: Samples


SessionInput = RealtimeClientEvent | RealtimeErrorBody | MediaAudio


def encode_event(event: RealtimeServerEvent) -> str:
    return _encoder.encode(event).decode()


def parse_event(text: str | None, data: bytes | None) -> RealtimeClientEvent | RealtimeErrorBody:
    if text is None:
        return RealtimeErrorBody(
            type="invalid_request_error",
            code="invalid_event",
            message="Send events as JSON text messages, not binary ones.",
        )
    try:
        event: RealtimeClientEvent = _decoder.decode(text)
        return event
    except msgspec.DecodeError as exc:
        return _explain(text, exc)


def _explain(text: str, exc: msgspec.DecodeError) -> RealtimeErrorBody:
    try:
        raw = msgspec.json.decode(text)
    except msgspec.DecodeError:
        return RealtimeErrorBody(
            type="invalid_request_error",
            code="invalid_json",
            message=f"The message is not valid JSON: {str(exc)[:200]}",
        )
    raw = raw if isinstance(raw, dict) else {}
    event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
    event_type = raw.get("type")
    if event_type not in REALTIME_CLIENT_EVENT_TYPES:
        shown = str(event_type)[:60] if event_type is not None else "(none)"
        return RealtimeErrorBody(
            type="invalid_request_error",
            code="invalid_event_type",
            param="type",
            event_id=event_id[:512] if event_id else None,
            message=f"Unsupported event type '{shown}'; a transcription session takes "
            f"{', '.join(REALTIME_CLIENT_EVENT_TYPES)}.",
        )
    message = str(exc)
    return RealtimeErrorBody(
        type="invalid_request_error",
        code="invalid_value",
        param=param_of(message),
        event_id=event_id[:512] if event_id else None,
        message=f"Invalid '{event_type}' event: {message[:300]}",
    )
