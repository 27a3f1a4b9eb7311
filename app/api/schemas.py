"""Wire schemas: what the HTTP API accepts and returns, as msgspec Structs."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Temperature = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
ChunkSize = Annotated[int, msgspec.Meta(ge=1, le=30)]  # seconds; Whisper sees 30 s windows at most
BatchSize = Annotated[int, msgspec.Meta(ge=1, le=128)]
SpeakerCount = Annotated[int, msgspec.Meta(ge=1, le=64)]
Granularity = Literal["segment", "word"]


class TranslationForm(msgspec.Struct, kw_only=True):
    """Fields of POST /v1/audio/translations besides `file`."""

    model: str = ""
    prompt: str | None = None
    response_format: str | None = None
    temperature: Temperature = 0.0
    chunk_size: ChunkSize | None = None
    batch_size: BatchSize | None = None
    run_async: bool = msgspec.field(default=False, name="async")  # 202 + a job id instead of the result
    callback_url: str | None = None  # with async: POSTed the signed result envelope when the job ends


class TranscriptionForm(TranslationForm, kw_only=True):
    """Fields of POST /v1/audio/transcriptions besides `file` (OpenAI's, then WhisperX's)."""

    language: str | None = None
    timestamp_granularities: list[Granularity] = msgspec.field(default_factory=lambda: ["segment"])
    stream: bool = False
    hotwords: str | None = None
    suppress_numerals: bool = True
    highlight_words: bool = False
    align: bool = True
    diarize: bool = False
    speaker_embeddings: bool = False
    min_speakers: SpeakerCount | None = None
    max_speakers: SpeakerCount | None = None


class ErrorBody(msgspec.Struct):
    message: str
    type: str
    param: str | None = None  # OpenAI always sends these keys, null when not applicable
    code: str | None = None
    request_id: str | None = None  # the X-Request-ID of the failed request, for bug reports and logs


class ErrorResponse(msgspec.Struct):
    error: ErrorBody


class Health(msgspec.Struct):
    status: str


class StageModel(msgspec.Struct, kw_only=True):
    id: str
    loaded: bool


class StageModels(msgspec.Struct, kw_only=True):
    backend: str
    default: str | None
    models: list[StageModel]


class ModelChange(msgspec.Struct, kw_only=True):
    id: str
    loaded: bool


class OpenAIModel(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model"
    created: int = 0
    owned_by: str = "whisperx-api-server"


class OpenAIModelList(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[OpenAIModel]


class JobAccepted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "transcription.job"
    status: str
    status_url: str
    result_url: str
