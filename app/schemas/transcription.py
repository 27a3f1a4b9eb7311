"""Transcriptions and translations: the multipart forms, OpenAI's transcription objects (the
formatters' output, with the functions that build them from domain objects) and `stream=true` events.

WhisperX extras (`score`, `speaker`, `aligner`, `speaker_embeddings`) are extra keys, omitted when
unset, so the OpenAI keys always validate against the official client's types.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import msgspec

from app.domain.models import Segment, Transcript, Word
from app.schemas.errors import ErrorBody
from app.schemas.speakers import SpeakerName, SpeakerReference

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
        default_factory=list
    )


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


def languages_of(codes: tuple[str, ...]) -> list[TranscriptionLanguage]:
    return [TranscriptionLanguage(code=code) for code in codes]


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
    return WordOut(
        word=word.word, start=word.start, end=word.end, score=_or_unset(word.score), speaker=_or_unset(word.speaker)
    )


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


def segment_id(segment: Segment) -> str:
    """A speaker segment's id, as `diarized_json` and the segment and delta events of a stream give it."""
    return f"seg_{segment.id}"


def diarized_segment(segment: Segment) -> DiarizedSegmentOut:
    """One speaker segment, as `diarized_json` lists it and as `stream=true` sends it."""
    return DiarizedSegmentOut(
        id=segment_id(segment),
        start=segment.start,
        end=segment.end,
        text=segment.text,
        speaker=segment.speaker or "SPEAKER_00",
    )


class TextDeltaEvent(msgspec.Struct, kw_only=True):
    type: str = "transcript.text.delta"
    delta: str
    logprobs: list[LogProb] | msgspec.UnsetType = msgspec.UNSET
    segment_id: str | msgspec.UnsetType = msgspec.UNSET  # a speaker format's: the segment the text belongs to


class TextDoneEvent(msgspec.Struct, kw_only=True):
    type: str = "transcript.text.done"
    text: str
    languages: list[TranscriptionLanguage] | msgspec.UnsetType = msgspec.UNSET
    logprobs: list[LogProb] | msgspec.UnsetType = msgspec.UNSET


class ErrorEvent(msgspec.Struct, kw_only=True):
    type: str = "error"
    error: ErrorBody


class LogProb(msgspec.Struct, kw_only=True):
    token: str
    bytes: list[int]
    logprob: float
