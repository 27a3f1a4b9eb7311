"""What the HTTP handlers need, handed to them by the composition root (app/main.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import anyio

from app.api.admission import Admission
from app.api.metrics import Metrics
from app.config.settings import Settings
from app.domain.jobs import JobService
from app.domain.pipeline import TranscriptionPipeline
from app.domain.ports import Formatter, ModelStore


@dataclass(frozen=True, slots=True)
class StageModels:
    backend: str
    default: str | None
    store: ModelStore


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    pipeline: TranscriptionPipeline
    formatters: Mapping[str, Formatter]
    limiter: anyio.CapacityLimiter  # inference slots: more threads than cores only thrash
    admission: Admission  # bounds running + waiting requests
    stages: Mapping[str, StageModels]  # "transcription" | "alignment" | "diarization"
    metrics: Metrics
    jobs: JobService
