"""Third-party backends (entry points) as complete port implementations.

A plugin written against an older port may leave out what the port now declares: a transcriber
without `aligns_while_decoding` (it cannot time words while decoding) or `time_words`, an aligner
without `can_align` (it may align any language), a backend without a model store. Wrapped here
once, every backend answers the pipeline the same questions.
"""

from __future__ import annotations

from typing import Any

from app.domain.errors import ModelNotFound, StageUnavailable
from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import Audio, Transcript, TranscriptionOptions
from app.domain.ports import SegmentSink, WordTimesWanted


class NoModels:
    """The ModelStore of a backend that exposes none."""

    def available(self) -> list[str]:
        return []

    def requestable(self) -> list[str]:
        return []

    def loaded(self) -> list[str]:
        return []

    def load(self, name: str) -> str:
        raise ModelNotFound("model", name, [])

    def unload(self, name: str) -> bool:
        return False

    def unload_idle(self) -> list[str]:
        return []


def models_of(backend: Any) -> Any:
    """The backend's model store, or NoModels."""
    models = getattr(backend, "models", None)
    return models if models is not None else NoModels()


class PluginTranscriber:
    """A third-party Transcriber: one that cannot time words while decoding is never asked to."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name: str = backend.name
        self.aligns_while_decoding: str | None = getattr(backend, "aligns_while_decoding", None)

    def transcribe(
        self,
        audio: Audio,
        options: TranscriptionOptions,
        on_segment: SegmentSink | None = None,
        time_words: WordTimesWanted | None = None,
    ) -> Transcript:
        if time_words is None:
            return self.backend.transcribe(audio, options, on_segment=on_segment)
        return self.backend.transcribe(audio, options, on_segment=on_segment, time_words=time_words)


class PluginAligner:
    """A third-party Aligner: one that cannot tell which languages it aligns is tried on every one."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name: str = backend.name

    def can_align(self, language: str) -> bool:
        can_align = getattr(self.backend, "can_align", None)
        return True if can_align is None else can_align(language)

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        return self.backend.align(audio, transcript, options)


class NoLiveTranscription:
    """The UtteranceTranscriber of a third-party transcription backend: realtime sessions say it has none."""

    def check_model(self, model: str | None) -> None:
        raise StageUnavailable("Realtime sessions need the whisperx transcription backend (BACKENDS__TRANSCRIPTION).")

    def decode(self, audio: Audio, request: UtteranceRequest) -> Hypothesis:
        self.check_model(request.model)
        raise AssertionError("unreachable: check_model always raises")
