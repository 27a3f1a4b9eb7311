"""Realtime transcription sessions (WebSocket `/v1/realtime?intent=transcription`): client and
server events, as the official SDK's `openai/types/realtime/` define them. Client config fields left
out of an update are UNSET (keep the current value); a JSON null clears the ones OpenAI lets you clear.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from app.domain.errors import DomainError
from app.schemas.speakers import SpeakerName
from app.schemas.transcription import LanguageCode, LogProb, ModelName, Prompt, TranscriptionLanguage

RealtimeFormatType = Literal["audio/pcm", "audio/pcmu", "audio/pcma"]
Eagerness = Literal["low", "medium", "high", "auto"]
NoiseReductionType = Literal["near_field", "far_field"]
Probability = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]
PaddingMs = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
SilenceMs = Annotated[int, msgspec.Meta(ge=32, le=10_000)]  # one VAD frame at least
EventId = Annotated[str, msgspec.Meta(max_length=512)]
KnownSpeakerNames = Annotated[list[SpeakerName], msgspec.Meta(max_length=4)]  # OpenAI's limit


class RealtimeAudioFormat(msgspec.Struct, kw_only=True, omit_defaults=True):
    type: RealtimeFormatType = "audio/pcm"
    rate: Literal[24000] | None = None  # only `audio/pcm` has (and states) a rate


class RealtimeTranscriptionConfig(msgspec.Struct, kw_only=True):
    model: ModelName | None = None
    language: LanguageCode | None = None
    prompt: Prompt | None = None
    # Our extension, with `gpt-4o-transcribe-diarize`: voices enrolled at /v1/speakers (by the session's
    # API key) that segments are labelled with by name when they sound like them.
    known_speaker_names: KnownSpeakerNames | msgspec.UnsetType = msgspec.UNSET
    # OpenAI's: words and phrases the decoder is primed with, and the languages the audio may be in.
    keywords: Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=100)] | None = None
    languages: Annotated[list[LanguageCode], msgspec.Meta(max_length=20)] | None = None
    # How long text waits for accuracy (OpenAI's, docs/realtime.md); unset: medium.
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None = None


class RealtimeTurnDetection(msgspec.Struct, kw_only=True):
    type: Literal["server_vad", "semantic_vad"]
    threshold: Probability | None = None
    prefix_padding_ms: PaddingMs | None = None
    silence_duration_ms: SilenceMs | None = None
    eagerness: Eagerness | None = None  # semantic_vad


class RealtimeNoiseReduction(msgspec.Struct, kw_only=True):
    type: NoiseReductionType | None = None


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


RealtimeClientEvent = (
    SessionUpdateEvent | InputAudioBufferAppendEvent | InputAudioBufferCommitEvent | InputAudioBufferClearEvent
)
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


def error_of(exc: DomainError, event_id: str | None = None) -> RealtimeErrorBody:
    """The one way a domain error becomes the protocol's error object (with the client event it answers)."""
    return RealtimeErrorBody(
        type=exc.error_type, code=exc.code, message=exc.message, param=exc.param, event_id=event_id
    )


def internal_error(message: str) -> RealtimeErrorBody:
    """Our fault, not the client's: said without details (they go to the log)."""
    return RealtimeErrorBody(type="server_error", code="internal_error", message=message)


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


class TranscriptionDeltaEvent(
    RealtimeServerEvent, kw_only=True, omit_defaults=True, tag="conversation.item.input_audio_transcription.delta"
):
    item_id: str
    content_index: int
    delta: str
    logprobs: list[LogProb] | None = None


class TranscriptionCompletedEvent(
    RealtimeServerEvent, kw_only=True, omit_defaults=True, tag="conversation.item.input_audio_transcription.completed"
):
    item_id: str
    content_index: int
    transcript: str
    usage: DurationUsage
    logprobs: list[LogProb] | None = None
    languages: list[TranscriptionLanguage] | None = None  # the turn's language, as OpenAI reports it


class TranscriptionSegmentEvent(
    RealtimeServerEvent, kw_only=True, tag="conversation.item.input_audio_transcription.segment"
):
    """A stretch of one speaker in a turn (sessions whose model is `gpt-4o-transcribe-diarize`); start
    and end in seconds from the start of the item's audio."""

    item_id: str
    content_index: int
    id: str
    start: float
    end: float
    speaker: str
    text: str


class TranscriptionPartialEvent(
    RealtimeServerEvent, kw_only=True, tag="conversation.item.input_audio_transcription.partial"
):
    """Not OpenAI's (sent only when `include` asks for it): what the latest decoding heard after the
    stable text; it may still change, and each one replaces the last."""

    item_id: str
    content_index: int
    text: str


class TranscriptionFailedEvent(
    RealtimeServerEvent, kw_only=True, tag="conversation.item.input_audio_transcription.failed"
):
    item_id: str
    content_index: int = 0
    error: RealtimeErrorBody


class RealtimeErrorEvent(RealtimeServerEvent, kw_only=True, tag="error"):
    error: RealtimeErrorBody


class ExpiresAfter(msgspec.Struct, kw_only=True):
    anchor: Literal["created_at"] = "created_at"
    seconds: Annotated[int, msgspec.Meta(ge=10, le=7200)] = 600  # OpenAI's bounds and default


class ClientSecretRequest(msgspec.Struct, kw_only=True):
    """`POST /v1/realtime/client_secrets`, as `client.realtime.client_secrets.create` sends it."""

    session: RealtimeSessionUpdate
    expires_after: ExpiresAfter = msgspec.field(default_factory=ExpiresAfter)


class ClientSecretResponse(msgspec.Struct, kw_only=True):
    value: str  # `ek_…`: opens realtime sessions (as the Bearer key, or the browser's key subprotocol)
    expires_at: int
    session: RealtimeSessionView
