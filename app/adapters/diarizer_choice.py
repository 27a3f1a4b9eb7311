"""BACKENDS__DIARIZATION=auto: whisperx's pyannote pipeline when it loads, else the embedded
speaker_clustering diarizer (which needs no hub token)."""

from __future__ import annotations

import structlog

from app.adapters.whisperx.diarizer import PyannoteModelStore
from app.config.settings import Settings

logger = structlog.get_logger(__name__)


def choose_diarization_backend(settings: Settings, pyannote: PyannoteModelStore) -> str:
    """The backend BACKENDS__DIARIZATION names; for `auto`, decided once (the container keeps the answer)
    and logged, so a deployment knows what it runs."""
    chosen = settings.backends.diarization
    if chosen != "auto":
        return chosen
    reason = pyannote.why_default_unusable()
    if reason is None:
        logger.info("diarization backend chosen", backend="whisperx", model=pyannote.default_model)
        return "whisperx"
    logger.info("diarization backend chosen", backend="speaker_clustering", why_not_whisperx=reason)
    return "speaker_clustering"
