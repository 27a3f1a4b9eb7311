"""The cross-attention alignment backend: word times from the Whisper model that transcribed."""

from __future__ import annotations

from app.adapters.cross_attention.aligner import CrossAttentionAligner
from app.adapters.cross_attention.model_store import CrossAttentionModelStore
from app.adapters.whisperx.model_store import WhisperModelStore
from app.config.settings import Settings
from app.domain.ports.stages import AlignmentStage


def alignment(whisper_models: WhisperModelStore, settings: Settings) -> AlignmentStage:
    return AlignmentStage(
        aligners=[CrossAttentionAligner(models=whisper_models, fit_windows=settings.whisper.fit_windows)],
        store=CrossAttentionModelStore(),
    )
