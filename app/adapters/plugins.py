"""Third-party backends (entry points, app/config/backends.py): which one BACKENDS__<STAGE> names, and
each as a complete port implementation.

A plugin written against an older port may leave out what the port now declares: a transcriber
without `times_words_like` (it cannot time words while decoding) or the `time_words` keyword, an
aligner without `can_align` (it may align any language), a diarizer without `check` (it honours
every option), a backend without a model store. Wrapped here once, every backend answers the
pipeline the same questions; this is the one module that asks a backend what it has.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import EntryPoint
from typing import Any

from app.config.backends import Stage, plugin_entry_points
from app.config.settings import Settings
from app.domain.errors import ModelNotFound, StageUnavailable
from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import Audio, Diarization, Transcript, TranscriptionOptions
from app.domain.ports.models import ModelStore
from app.domain.ports.stages import AlignmentStage, DiarizationStage, StageBackend, TranscriptionStage
from app.domain.ports.transcription import SegmentSink, WordTimesWanted


def build(entry_point: EntryPoint, settings: Settings) -> Any:
    """The backend an entry point's factory makes from the server's settings."""
    return entry_point.load()(settings)


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


def models_of(backend: Any) -> ModelStore:
    """The backend's model store, or NoModels."""
    models = getattr(backend, "models", None)
    return models if models is not None else NoModels()


class PluginTranscriber:
    """A third-party Transcriber: one that cannot time words while decoding is never asked to."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name: str = backend.name

    def times_words_like(self, aligner: str) -> bool:
        times_words_like = getattr(self.backend, "times_words_like", None)
        return times_words_like is not None and bool(times_words_like(aligner))

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
        return True if can_align is None else bool(can_align(language))

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        return self.backend.align(audio, transcript, options)


class PluginDiarizer:
    """A third-party Diarizer: one without `check` honours every option."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name: str = backend.name

    def check(self, options: TranscriptionOptions) -> None:
        check = getattr(self.backend, "check", None)
        if check is not None:
            check(options)

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization:
        return self.backend.diarize(audio, options)


def backend_named(stage: Stage, name: str, settings: Settings, builtin: Callable[[], StageBackend]) -> StageBackend:
    """The backend of `stage` that BACKENDS__<STAGE> names: the third-party one installed under `name`,
    or else `builtin()`, the container's choice among the built-in ones."""
    for entry_point in plugin_entry_points(stage):
        if entry_point.name == name:
            return AS_STAGE[stage](build(entry_point, settings))
    return builtin()


def transcription_stage(backend: Any) -> TranscriptionStage:
    return TranscriptionStage(
        transcriber=PluginTranscriber(backend), live=NoLiveTranscription(), store=models_of(backend)
    )


def alignment_stage(backend: Any) -> AlignmentStage:
    """A plugin aligner is its stage's whole chain."""
    return AlignmentStage(aligners=[PluginAligner(backend)], store=models_of(backend))


def diarization_stage(backend: Any) -> DiarizationStage:
    return DiarizationStage(diarizer=PluginDiarizer(backend), store=models_of(backend))


AS_STAGE: dict[Stage, Callable[[Any], StageBackend]] = {
    "transcription": transcription_stage,
    "alignment": alignment_stage,
    "diarization": diarization_stage,
}


class NoLiveTranscription:
    """The UtteranceTranscriber of a third-party transcription backend: realtime sessions say it has none."""

    def check_model(self, model: str | None) -> None:
        raise StageUnavailable("Realtime sessions need the whisperx transcription backend (BACKENDS__TRANSCRIPTION).")

    def decode(self, audio: Audio, request: UtteranceRequest) -> Hypothesis:
        self.check_model(request.model)
        raise AssertionError("unreachable: check_model always raises")
