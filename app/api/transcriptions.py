"""POST /v1/audio/transcriptions and /v1/audio/translations: parse, call the service, render."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import BinaryIO

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.response import Stream
from msgspec import UNSET

from app.api.errors import domain_error_body, internal_error_body
from app.api.forms import read_form
from app.api.middleware import client_request_id
from app.api.openapi import TranscriptionOperation, TranslationOperation
from app.api.sse import sse_response
from app.config.settings import Settings
from app.domain.ports.rendering import Formatter
from app.schemas.jobs import JobAccepted, job_view
from app.schemas.transcription import (
    ErrorEvent,
    TextDeltaEvent,
    TextDoneEvent,
    diarized_segment,
    languages_of,
    segment_id,
    wire_logprobs,
)
from app.services.admission import UploadGate
from app.services.audio_requests import AudioRequestParser, Fields
from app.services.transcription import (
    Accepted,
    AudioRequest,
    Caller,
    Finished,
    Outcome,
    SpeakerSegment,
    StreamEvent,
    StreamFailed,
    TextDelta,
    TextDone,
    TranscriptionService,
)

Formatters = Mapping[str, Formatter]


class AudioController(Controller):
    path = "/v1/audio"
    tags = ["audio"]

    @post(
        "/transcriptions", status_code=200, operation_id="createTranscription", operation_class=TranscriptionOperation
    )
    async def create_transcription(
        self,
        request: Request,
        parser: NamedDependency[AudioRequestParser],
        uploads: NamedDependency[UploadGate],
        transcription_service: NamedDependency[TranscriptionService],
        formatters: NamedDependency[Formatters],
        settings: NamedDependency[Settings],
    ) -> Response[bytes | str | JobAccepted] | Stream:
        return await handle(
            parser.transcription, request, uploads, transcription_service, formatters, settings.max_upload_size_bytes
        )

    @post("/translations", status_code=200, operation_id="createTranslation", operation_class=TranslationOperation)
    async def create_translation(
        self,
        request: Request,
        parser: NamedDependency[AudioRequestParser],
        uploads: NamedDependency[UploadGate],
        transcription_service: NamedDependency[TranscriptionService],
        formatters: NamedDependency[Formatters],
        settings: NamedDependency[Settings],
    ) -> Response[bytes | str | JobAccepted] | Stream:
        return await handle(
            parser.translation, request, uploads, transcription_service, formatters, settings.max_upload_size_bytes
        )


async def handle(
    parse: Callable[[Fields, BinaryIO | None], AudioRequest],
    request: Request,
    uploads: UploadGate,
    service: TranscriptionService,
    formatters: Formatters,
    max_upload_bytes: int,
) -> Response[bytes | str | JobAccepted] | Stream:
    """Parse the form (received in an upload slot), call the service, render what it returns."""
    form = await uploads.receive(lambda: read_form(request))
    try:
        audio_request = parse(form.fields, form.upload(max_upload_bytes))
        # Every execution has read the upload by the time it returns (a stream decodes first).
        outcome = await service.handle(audio_request, caller(request))
    finally:
        form.close()
    return render(outcome, formatters)


def caller(request: Request) -> Caller:
    async def disconnected() -> None:
        # Called once the body has been read, so the next ASGI message can only be the disconnect.
        while (await request.receive())["type"] != "http.disconnect":
            pass

    return Caller(owner=request.state.owner, disconnected=disconnected, request_id=client_request_id(request.scope))


def render(outcome: Outcome, formatters: Formatters) -> Response[bytes | str | JobAccepted] | Stream:
    if isinstance(outcome, Finished):
        formatter = formatters[outcome.response_format]
        return Response(formatter.render(outcome.transcript, outcome.render), media_type=formatter.media_type)
    if isinstance(outcome, Accepted):
        view = job_view(outcome.job)
        return Response(
            JobAccepted(id=view.id, status=view.status, status_url=view.status_url, result_url=view.result_url),
            status_code=202,
            headers={"Location": view.status_url},
        )
    return sse_response(_wire_events(outcome.events))


async def _wire_events(events: AsyncIterator[StreamEvent]) -> AsyncIterator[object]:
    """OpenAI's transcription stream events. The done event carries no `usage`: the official client
    types it as token counts only, and a duration there fails its strict validation."""
    async for event in events:
        match event:
            case TextDelta(text=text, logprobs=logprobs, segment=segment):
                yield TextDeltaEvent(
                    delta=text,
                    logprobs=wire_logprobs(logprobs) if logprobs is not None else UNSET,
                    segment_id=segment_id(segment) if segment is not None else UNSET,
                )
            case SpeakerSegment(segment=segment):
                yield diarized_segment(segment)
            case TextDone(text=text, logprobs=logprobs, languages=languages):
                yield TextDoneEvent(
                    text=text,
                    languages=languages_of(languages),
                    logprobs=wire_logprobs(logprobs) if logprobs is not None else UNSET,
                )
            case StreamFailed(error=error):
                yield ErrorEvent(error=domain_error_body(error) if error is not None else internal_error_body())
