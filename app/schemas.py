"""Wire schemas: every shape that crosses the server's edge, as msgspec Structs, in one module.

Requests (the multipart forms), responses (OpenAI's transcription objects, the job views, model
lists, errors), stream events and webhook bodies — with the functions that build them from domain
objects. The HTTP layer and the adapters that render (formatters, the webhook notifier) both import
it; neither imports the other.

WhisperX extras (`score`, `speaker`, `aligner`, `speaker_embeddings`) are extra keys, omitted when
unset, so the OpenAI keys always validate against the official client's types.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec

from app.domain.models import Job, Segment, SpeakerProfile, Transcript, Word

JOBS_PATH = "/v1/audio/transcriptions"

# --- requests ---------------------------------------------------------------------------------

Temperature = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
ChunkSize = Annotated[int, msgspec.Meta(ge=1, le=30)]  # seconds; Whisper sees 30 s windows at most
BatchSize = Annotated[int, msgspec.Meta(ge=1, le=128)]
SpeakerCount = Annotated[int, msgspec.Meta(ge=1, le=64)]
Granularity = Literal["segment", "word"]
# Every text field has a cap (characters), so nothing a client sends grows without bound: not the
# job records that keep the options, not the decoder's prompt.
ModelName = Annotated[str, msgspec.Meta(max_length=256)]
FormatName = Annotated[str, msgspec.Meta(max_length=32)]
LanguageCode = Annotated[str, msgspec.Meta(max_length=16)]
Prompt = Annotated[str, msgspec.Meta(max_length=4096)]  # Whisper reads its last 223 tokens anyway
Hotwords = Annotated[str, msgspec.Meta(max_length=1024)]
Keyword = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
CallbackUrl = Annotated[str, msgspec.Meta(max_length=2048)]  # and `audio_url`
SpeakerName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
# A 2-10 s reference as a data URL: even uncompressed 48 kHz stereo stays under this.
SpeakerReference = Annotated[str, msgspec.Meta(max_length=4 * 1024 * 1024)]


class TranslationForm(msgspec.Struct, kw_only=True):
    """Fields of POST /v1/audio/translations besides `file`."""

    model: ModelName = ""
    prompt: Prompt | None = None
    response_format: FormatName | None = None
    temperature: Temperature = 0.0
    chunk_size: ChunkSize | None = None
    batch_size: BatchSize | None = None
    run_async: bool = msgspec.field(default=False, name="async")  # 202 + a job id instead of the result
    callback_url: CallbackUrl | None = None  # with async: POSTed the signed result envelope when the job ends
    audio_url: CallbackUrl | None = None  # instead of `file`: the server downloads the recording
    # Subtitle cues (srt, vtt, vtt_json): whisperX's own names, and which cues (SUBTITLES__* defaults).
    max_line_width: Annotated[int, msgspec.Meta(ge=10, le=200)] | None = None
    max_line_count: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    subtitle_cues: Literal["broadcast", "segments"] | None = None


class ServerVad(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """OpenAI's `chunking_strategy` object; the client sends it as `chunking_strategy[threshold]` parts."""

    type: Literal["server_vad"]
    threshold: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    prefix_padding_ms: Annotated[int, msgspec.Meta(ge=0, le=5000)] | None = None
    silence_duration_ms: Annotated[int, msgspec.Meta(ge=0, le=10000)] | None = None


class TranscriptionForm(TranslationForm, kw_only=True):
    """Fields of POST /v1/audio/transcriptions besides `file` (OpenAI's, then WhisperX's)."""

    language: LanguageCode | None = None
    # OpenAI's newest: the languages the audio may be in (detection picks among them), words and phrases
    # to listen for (as `hotwords`), and `include[]=logprobs` for token log probabilities.
    languages: Annotated[list[LanguageCode], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    keywords: Annotated[list[Keyword], msgspec.Meta(max_length=100)] = msgspec.field(default_factory=list)
    include: list[Literal["logprobs"]] = msgspec.field(default_factory=list)
    chunking_strategy: Literal["auto"] | ServerVad | None = None  # "auto": the server's VAD settings
    timestamp_granularities: list[Granularity] = msgspec.field(default_factory=lambda: ["segment"])
    stream: bool = False
    hotwords: Hotwords | None = None
    suppress_numerals: bool = True
    highlight_words: bool = False
    align: bool = True
    diarize: bool = False
    speaker_embeddings: bool = False
    min_speakers: SpeakerCount | None = None
    max_speakers: SpeakerCount | None = None
    num_speakers: SpeakerCount | None = None  # exactly this many: min_speakers = max_speakers = num_speakers
    # OpenAI's: names for the voices in the references (data URLs), or of voices enrolled at /v1/speakers
    known_speaker_names: Annotated[list[SpeakerName], msgspec.Meta(max_length=4)] = msgspec.field(default_factory=list)
    known_speaker_references: Annotated[list[SpeakerReference], msgspec.Meta(max_length=4)] = msgspec.field(
        default_factory=list)


class SpeakerForm(msgspec.Struct, kw_only=True):
    """Fields of POST /v1/speakers besides `file` (2-60 s of the person speaking)."""

    name: SpeakerName


# --- responses ----------------------------------------------------------------------------------


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


class CatalogModel(msgspec.Struct, kw_only=True):
    id: str
    default: bool
    loaded: bool
    downloaded: bool  # on this machine already (bundled, WHISPER__MODELS_DIR, hub cache); else fetched on first use


class ModelCatalog(msgspec.Struct, kw_only=True):
    object: str = "list"
    default: str
    data: list[CatalogModel]


class QueueInfo(msgspec.Struct, kw_only=True):
    running: int
    waiting: int
    max_concurrent_transcriptions: int
    max_queued_requests: int
    uploads_receiving: int
    max_concurrent_uploads: int


class JobsInfo(msgspec.Struct, kw_only=True):
    unfinished: int
    max_unfinished: int
    max_unfinished_per_key: int
    live_workers: int | None  # distributed mode: `whisperx-api-server worker` processes seen lately


class StageInfo(msgspec.Struct, kw_only=True):
    backend: str
    default_model: str | None


class ServerInfo(msgspec.Struct, kw_only=True):
    """GET /info: what a client or the web page needs to adapt to this server."""

    object: str = "server.info"
    version: str
    mode: Literal["local", "distributed"]
    uptime_seconds: float
    auth_required: bool
    max_upload_size_bytes: int
    max_audio_seconds: float
    response_formats: list[str]
    stages: dict[str, StageInfo]
    queue: QueueInfo
    jobs: JobsInfo


class JobAccepted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "transcription.job"
    status: str
    status_url: str
    result_url: str


# --- transcription objects (the formatters' output) ---------------------------------------------


class Usage(msgspec.Struct, kw_only=True):
    type: str = "duration"
    seconds: int


class WordOut(msgspec.Struct, kw_only=True):
    word: str
    start: float
    end: float
    score: float | msgspec.UnsetType = msgspec.UNSET
    speaker: str | msgspec.UnsetType = msgspec.UNSET


class SegmentOut(msgspec.Struct, kw_only=True):
    id: int
    seek: int
    start: float
    end: float
    text: str
    tokens: list[int]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float
    speaker: str | msgspec.UnsetType = msgspec.UNSET


class TranscriptionLanguage(msgspec.Struct, kw_only=True):
    code: str


class TextTranscription(msgspec.Struct, kw_only=True):
    text: str
    languages: list[TranscriptionLanguage] | msgspec.UnsetType = msgspec.UNSET
    logprobs: list[LogProb] | msgspec.UnsetType = msgspec.UNSET
    usage: Usage


class VerboseTranscription(msgspec.Struct, kw_only=True):
    task: str
    language: str
    duration: float
    text: str
    segments: list[SegmentOut] | msgspec.UnsetType = msgspec.UNSET
    words: list[WordOut] | msgspec.UnsetType = msgspec.UNSET
    usage: Usage
    aligner: str | msgspec.UnsetType = msgspec.UNSET
    diarizer: str | msgspec.UnsetType = msgspec.UNSET
    speaker_embeddings: dict[str, list[float]] | msgspec.UnsetType = msgspec.UNSET


class VttTranscription(VerboseTranscription, kw_only=True):
    vtt_text: str


def wire_logprobs(tokens) -> list[LogProb]:
    """Domain TokenLogprobs as OpenAI's `logprobs` entries."""
    return [LogProb(token=t.token, bytes=list(t.bytes), logprob=t.logprob) for t in tokens]


def usage(transcript: Transcript) -> Usage:
    # OpenAI bills whole seconds, rounded up.
    return Usage(seconds=int(math.ceil(transcript.duration)))


def _or_unset(value):
    return msgspec.UNSET if value is None else value


def word_out(word: Word) -> WordOut:
    return WordOut(word=word.word, start=word.start, end=word.end, score=_or_unset(word.score), speaker=_or_unset(word.speaker))


def segment_out(segment: Segment) -> SegmentOut:
    return SegmentOut(
        id=segment.id,
        seek=segment.seek,
        start=segment.start,
        end=segment.end,
        text=segment.text,
        tokens=list(segment.tokens),
        temperature=segment.temperature,
        avg_logprob=segment.avg_logprob,
        compression_ratio=segment.compression_ratio,
        no_speech_prob=segment.no_speech_prob,
        speaker=_or_unset(segment.speaker),
    )


class DiarizedSegmentOut(msgspec.Struct, kw_only=True):
    type: str = "transcript.text.segment"
    id: str
    start: float
    end: float
    text: str
    speaker: str


class DiarizedTranscription(msgspec.Struct, kw_only=True):
    task: str
    duration: float
    text: str
    segments: list[DiarizedSegmentOut]
    usage: Usage


def diarized_segment(segment: Segment) -> DiarizedSegmentOut:
    """One speaker segment, as `diarized_json` lists it and as `stream=true` sends it."""
    return DiarizedSegmentOut(id=f"seg_{segment.id}", start=segment.start, end=segment.end, text=segment.text,
                              speaker=segment.speaker or "SPEAKER_00")


# --- the speaker registry -----------------------------------------------------------------------


class SpeakerView(msgspec.Struct, kw_only=True):
    id: str
    object: str = "speaker"
    name: str
    created_at: int
    seconds: float  # of speech the voice print was made from (the audio itself is not kept)
    voice_model: str  # the speaker encoder that made the print
    needs_reenrollment: bool  # made by another model than the server's: enrol the voice again to use it


class SpeakerList(msgspec.Struct, kw_only=True):
    """A page, as OpenAI's list endpoints give one (`?limit=&after=`)."""

    object: str = "list"
    data: list[SpeakerView]
    first_id: str | None = None
    last_id: str | None = None
    has_more: bool = False


class SpeakerDeleted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "speaker.deleted"
    deleted: bool = True


def speaker_view(profile: SpeakerProfile, current: bool) -> SpeakerView:
    return SpeakerView(id=profile.id, name=profile.name, created_at=int(profile.created_at), seconds=profile.seconds,
                       voice_model=profile.voice_model, needs_reenrollment=not current)


# --- stream events (`stream=true`) --------------------------------------------------------------


class TextDeltaEvent(msgspec.Struct, kw_only=True):
    type: str = "transcript.text.delta"
    delta: str
    logprobs: list[LogProb] | msgspec.UnsetType = msgspec.UNSET


class TextDoneEvent(msgspec.Struct, kw_only=True):
    type: str = "transcript.text.done"
    text: str
    logprobs: list[LogProb] | msgspec.UnsetType = msgspec.UNSET


class ErrorEvent(msgspec.Struct, kw_only=True):
    type: str = "error"
    error: ErrorBody


# --- async jobs ---------------------------------------------------------------------------------


class JobView(msgspec.Struct, kw_only=True, omit_defaults=False):
    id: str
    object: str = "transcription.job"
    status: str
    stage: str | None = None
    progress: float = 0.0
    task: str
    response_format: str
    created_at: float
    updated_at: float
    expires_at: float | None = None
    attempts: int = 0
    error: OpenAIError | None = None
    status_url: str
    result_url: str


class JobEnvelope(JobView, kw_only=True):
    """The callback body: the job and, when it succeeded, its result in the requested format
    (a JSON object for the JSON formats, a string for text, srt, vtt and aud)."""

    result: object | None = None


def job_view(job: Job) -> JobView:
    error = OpenAIError(message=job.error.message, type=job.error.type, param=job.error.param,
                         code=job.error.code) if job.error else None
    return JobView(id=job.id, status=job.status.value, stage=job.stage, progress=round(job.progress, 4),
                   task=job.options.task.value, response_format=job.response_format, created_at=job.created_at,
                   updated_at=job.updated_at, expires_at=job.expires_at, attempts=job.attempts, error=error,
                   status_url=f"{JOBS_PATH}/{job.id}", result_url=f"{JOBS_PATH}/{job.id}/result")


# --- realtime transcription sessions (WebSocket `/v1/realtime?intent=transcription`) ---------------
# Shapes as the official SDK's `openai/types/realtime/` define them. Client config fields left out of
# an update are UNSET (keep the current value); a JSON null clears the ones OpenAI lets you clear.

RealtimeFormatType = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
PaddingMs = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
SilenceMs = Annotated[int, msgspec.Meta(ge=32, le=10_000)]  # one VAD frame at least
EventId = Annotated[str, msgspec.Meta(max_length=512)]


class RealtimeAudioFormat(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: RealtimeFormatType = "audio/pcm"
    rate: Literal[24000] | None = None  # only `audio/pcm` has (and states) a rate


class RealtimeTranscriptionConfig(msgspec.Struct, kw_only=True):
    model: ModelName | None = None
    language: LanguageCode | None = None
    prompt: Prompt | None = None


class RealtimeTurnDetection(msgspec.Struct, kw_only=True):
    type: Literal["server_vad", "semantic_vad"]
    threshold: Probability | None = None
    prefix_padding_ms: PaddingMs | None = None
    silence_duration_ms: SilenceMs | None = None
    eagerness: Literal["low", "medium", "high", "auto"] | None = None  # semantic_vad


class RealtimeNoiseReduction(msgspec.Struct, kw_only=True):
    type: Literal["near_field", "far_field"] | None = None


class RealtimeAudioInputUpdate(msgspec.Struct, kw_only=True):
    format: RealtimeAudioFormat | msgspec.UnsetType = msgspec.UNSET
    noise_reduction: RealtimeNoiseReduction | None | msgspec.UnsetType = msgspec.UNSET
    transcription: RealtimeTranscriptionConfig | None | msgspec.UnsetType = msgspec.UNSET
    turn_detection: RealtimeTurnDetection | None | msgspec.UnsetType = msgspec.UNSET


class RealtimeAudioUpdate(msgspec.Struct, kw_only=True):
    input: RealtimeAudioInputUpdate | msgspec.UnsetType = msgspec.UNSET


# OpenAI's one `include` value, and ours: `...partial` asks for the unstable tail of a turn being
# spoken (`conversation.item.input_audio_transcription.partial`), which the web page shows in grey.
RealtimeInclude = Literal["item.input_audio_transcription.logprobs", "item.input_audio_transcription.partial"]


class RealtimeSessionUpdate(msgspec.Struct, kw_only=True):
    type: Literal["transcription"]  # conversation sessions (`realtime`) are not served here
    audio: RealtimeAudioUpdate | msgspec.UnsetType = msgspec.UNSET
    include: list[RealtimeInclude] | None | msgspec.UnsetType = msgspec.UNSET


class SessionUpdateEvent(msgspec.Struct, kw_only=True, tag_field="type", tag="session.update"):
    session: RealtimeSessionUpdate
    event_id: EventId | None = None


class InputAudioBufferAppendEvent(msgspec.Struct, kw_only=True, tag_field="type", tag="input_audio_buffer.append"):
    audio: str  # base64 of the session's input format
    event_id: EventId | None = None


class InputAudioBufferCommitEvent(msgspec.Struct, kw_only=True, tag_field="type", tag="input_audio_buffer.commit"):
    event_id: EventId | None = None


class InputAudioBufferClearEvent(msgspec.Struct, kw_only=True, tag_field="type", tag="input_audio_buffer.clear"):
    event_id: EventId | None = None


RealtimeClientEvent = (SessionUpdateEvent | InputAudioBufferAppendEvent | InputAudioBufferCommitEvent
                       | InputAudioBufferClearEvent)
REALTIME_CLIENT_EVENT_TYPES = tuple(t.__struct_config__.tag for t in RealtimeClientEvent.__args__)


class RealtimeAudioInput(msgspec.Struct, kw_only=True):
    format: RealtimeAudioFormat
    noise_reduction: RealtimeNoiseReduction | None
    transcription: RealtimeTranscriptionConfig | None
    turn_detection: RealtimeTurnDetection | None


class RealtimeAudio(msgspec.Struct, kw_only=True):
    input: RealtimeAudioInput


class RealtimeSessionView(msgspec.Struct, kw_only=True):
    """The effective configuration (`session.created`, `session.updated`)."""

    id: str
    object: str = "realtime.transcription_session"
    type: str = "transcription"
    expires_at: int
    audio: RealtimeAudio
    include: list[str]


class RealtimeErrorBody(msgspec.Struct, kw_only=True):
    type: str
    code: str | None = None
    message: str
    param: str | None = None
    event_id: str | None = None


class LogProb(msgspec.Struct, kw_only=True):
    token: str
    bytes: list[int]
    logprob: float


class RealtimeContent(msgspec.Struct, kw_only=True):
    type: str = "input_audio"
    transcript: str | None = None


class RealtimeItem(msgspec.Struct, kw_only=True):
    id: str
    object: str = "realtime.item"
    type: str = "message"
    role: str = "user"
    status: str = "completed"
    content: list[RealtimeContent] = msgspec.field(default_factory=lambda: [RealtimeContent()])


class DurationUsage(msgspec.Struct, kw_only=True):
    type: str = "duration"
    seconds: float


class RealtimeServerEvent(msgspec.Struct, kw_only=True, tag_field="type"):
    event_id: str


class SessionCreatedEvent(RealtimeServerEvent, kw_only=True, tag="session.created"):
    session: RealtimeSessionView


class SessionUpdatedEvent(RealtimeServerEvent, kw_only=True, tag="session.updated"):
    session: RealtimeSessionView


class SpeechStartedEvent(RealtimeServerEvent, kw_only=True, tag="input_audio_buffer.speech_started"):
    audio_start_ms: int
    item_id: str


class SpeechStoppedEvent(RealtimeServerEvent, kw_only=True, tag="input_audio_buffer.speech_stopped"):
    audio_end_ms: int
    item_id: str


class BufferCommittedEvent(RealtimeServerEvent, kw_only=True, tag="input_audio_buffer.committed"):
    item_id: str
    previous_item_id: str | None = None


class BufferClearedEvent(RealtimeServerEvent, kw_only=True, tag="input_audio_buffer.cleared"):
    pass


class ItemAddedEvent(RealtimeServerEvent, kw_only=True, tag="conversation.item.added"):
    item: RealtimeItem
    previous_item_id: str | None = None


class TranscriptionDeltaEvent(RealtimeServerEvent, kw_only=True, omit_defaults=True,
                              tag="conversation.item.input_audio_transcription.delta"):
    item_id: str
    content_index: int
    delta: str
    logprobs: list[LogProb] | None = None


class TranscriptionCompletedEvent(RealtimeServerEvent, kw_only=True, omit_defaults=True,
                                  tag="conversation.item.input_audio_transcription.completed"):
    item_id: str
    content_index: int
    transcript: str
    usage: DurationUsage
    logprobs: list[LogProb] | None = None


class TranscriptionPartialEvent(RealtimeServerEvent, kw_only=True,
                                tag="conversation.item.input_audio_transcription.partial"):
    """Not OpenAI's (sent only when `include` asks for it): what the latest decoding heard after the
    stable text; it may still change, and each one replaces the last."""

    item_id: str
    content_index: int
    text: str


class TranscriptionFailedEvent(RealtimeServerEvent, kw_only=True,
                               tag="conversation.item.input_audio_transcription.failed"):
    item_id: str
    content_index: int = 0
    error: RealtimeErrorBody


class RealtimeErrorEvent(RealtimeServerEvent, kw_only=True, tag="error"):
    error: RealtimeErrorBody
