"""What one backend of a pipeline stage gives the server: the ports it implements, its models' store,
its default model, and how to load that model before the first request. Each backend's factory (one
per adapter package; app/adapters/plugins.py for third-party ones) returns one of these, and the
container picks one per stage by BACKENDS__<STAGE>."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.domain.ports.alignment import Aligner
from app.domain.ports.models import ModelStore
from app.domain.ports.speakers import Diarizer
from app.domain.ports.transcription import Transcriber, UtteranceTranscriber


def nothing_to_load() -> None:
    """The warm-up of a backend that loads on first use."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StageBackend:
    store: ModelStore
    default_model: str | None = None  # None: the request (or the transcript's language) chooses
    warm_up: Callable[[], None] = nothing_to_load


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptionStage(StageBackend):
    transcriber: Transcriber
    live: UtteranceTranscriber  # realtime sessions' turns


@dataclass(frozen=True, slots=True, kw_only=True)
class AlignmentStage(StageBackend):
    aligners: Sequence[Aligner]  # tried in order: the first that can align the language does


@dataclass(frozen=True, slots=True, kw_only=True)
class DiarizationStage(StageBackend):
    diarizer: Diarizer


@dataclass(frozen=True, slots=True)
class StageListing:
    """One stage as the model endpoints show it: its backend's name, default model and models' store."""

    backend: str
    default: str | None
    store: ModelStore
