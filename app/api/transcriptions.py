"""POST /v1/audio/transcriptions and /v1/audio/translations."""

from __future__ import annotations

import structlog
from litestar import Controller, Request, Response, post
from litestar.datastructures import FormMultiDict
from litestar.exceptions import InternalServerException
from litestar.response import Stream
from litestar.di import NamedDependency

from app.api.admission import ClientGone, run_when_free
from app.api.jobs import run_as_job, submit
from app.api.openapi import TranscriptionOperation, TranslationOperation
from app.api.params import AudioRequest, transcription_request, translation_request
from app.api.services import Services
from app.api.streaming import stream_transcription

logger = structlog.get_logger(__name__)


class AudioController(Controller):
    path = "/v1/audio"
    tags = ["audio"]

    @post("/transcriptions", status_code=200, operation_id="createTranscription",
          operation_class=TranscriptionOperation)
    async def create_transcription(self, request: Request, services: NamedDependency[Services]) -> Response[bytes | str] | Stream:
        form = await _read_form(request)
        return await _run(transcription_request(form, services.settings, services.formatters), services, request)

    @post("/translations", status_code=200, operation_id="createTranslation",
          operation_class=TranslationOperation)
    async def create_translation(self, request: Request, services: NamedDependency[Services]) -> Response[bytes | str] | Stream:
        form = await _read_form(request)
        return await _run(translation_request(form, services.settings, services.formatters), services, request)


async def _read_form(request: Request) -> FormMultiDict:
    try:
        return await request.form()
    except InternalServerException as exc:
        # Litestar signals a hang-up mid-upload only by this message (tested in tests/api/test_load.py).
        if exc.detail == "client disconnected prematurely":
            raise ClientGone from None
        raise


async def _run(audio_request: AudioRequest, services: Services, request: Request) -> Response[bytes | str] | Stream:
    if audio_request.run_async:
        return await submit(audio_request, services, request)
    if audio_request.stream:
        return await stream_transcription(audio_request, services, request)
    async with services.admission.slot():
        if services.settings.jobs.backend == "celery":  # workers do the inference: wait for the job
            return await run_as_job(audio_request, services, request)
        # Decoding and inference block: run them in a worker thread, at most `limiter` at once.
        result = await run_when_free(services.limiter, request.receive,
                                     lambda: services.pipeline.run(audio_request.file, audio_request.options))
    services.metrics.observe_result(result)
    transcript, timings = result.transcript, result.timings
    structlog.contextvars.bind_contextvars(
        task=transcript.task.value,
        model=transcript.model,
        language=transcript.language,
        audio_seconds=round(transcript.duration, 2),
        response_format=audio_request.response_format,
        decode_s=round(timings.decode, 3),
        transcribe_s=round(timings.transcribe, 3),
        align_s=round(timings.align, 3),
        diarize_s=round(timings.diarize, 3),
        aligner=transcript.aligner,
    )
    formatter = services.formatters[audio_request.response_format]
    body = formatter.render(transcript, audio_request.render)
    return Response(body, media_type=formatter.media_type, status_code=200)
