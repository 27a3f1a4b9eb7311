"""Speech to text: whole recordings (the pipeline's first stage) and live utterances."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import Audio, Segment, Transcript, TranscriptionOptions

SegmentSink = Callable[[Segment], None]
StageSink = Callable[[str], None]  # told "decode", "transcribe", "align", "diarize" as each begins
ProgressSink = Callable[[float], None]  # told the share (0..1) of the audio transcribed so far
# Asked with the transcript's language once it is known: should the transcriber time words itself?
WordTimesWanted = Callable[[str], bool]


class TimesWordsWhileDecoding(Protocol):
    """A capability: giving, while decoding, the word times an aligner would, without its second pass."""

    def times_words_like(self, aligner: str) -> bool:
        """True when this transcriber's own word times are those of the aligner named `aligner`."""
        ...


class Transcriber(TimesWordsWhileDecoding, Protocol):
    name: str

    def transcribe(
        self,
        audio: Audio,
        options: TranscriptionOptions,
        on_segment: SegmentSink | None = None,
        time_words: WordTimesWanted | None = None,
    ) -> Transcript:
        """Transcribe; call `on_segment` with each segment as soon as it is decoded (for streaming).

        When `time_words(language)` says so, segments come back with timed words, cut at sentence
        ends, and the transcript's `aligner` names the aligner whose times they are."""
        ...


class UtteranceTranscriber(Protocol):
    """Decodes one utterance (at most a Whisper window) directly, without VAD chunking: live turns."""

    def check_model(self, model: str | None) -> None:
        """Raise ModelNotFound (or InvalidRequest) for a model this transcriber cannot use."""
        ...

    def decode(self, audio: Audio, request: UtteranceRequest) -> Hypothesis:
        """The tokens that follow `request.prefix` in this audio."""
        ...
