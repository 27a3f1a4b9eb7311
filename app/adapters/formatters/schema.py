"""OpenAI's transcription response objects as msgspec Structs (openai-openapi `CreateTranscriptionResponseVerboseJson`).

WhisperX extras (`score`, `speaker`, `aligner`, `speaker_embeddings`) are extra keys, omitted when unset,
so the OpenAI keys always validate against the official client's types.
"""

from __future__ import annotations

import math

import msgspec

from app.domain.models import Segment, Transcript, Word


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


class TextTranscription(msgspec.Struct, kw_only=True):
    text: str
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
