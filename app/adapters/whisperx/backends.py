"""The whisperx backend of each stage, assembled from this package's adapters."""

from __future__ import annotations

from functools import partial

from app.adapters.models.bundled import BundledModelInstaller
from app.adapters.models.device import Runtime
from app.adapters.models.resolver import WhisperModelResolver
from app.adapters.whisperx.aligner import Wav2Vec2Aligner, Wav2Vec2ModelStore
from app.adapters.whisperx.diarizer import PyannoteModelStore, WhisperXDiarizer
from app.adapters.whisperx.live import WhisperUtteranceTranscriber
from app.adapters.whisperx.model_store import WhisperModelStore
from app.adapters.whisperx.transcriber import WhisperXTranscriber
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.config.settings import Settings
from app.domain.ports.stages import AlignmentStage, DiarizationStage, TranscriptionStage


def whisper_models(settings: Settings, runtime: Runtime) -> WhisperModelStore:
    """Whisper models (bundled, local or from the hub), which the whisperx transcriber, live turns and
    both aligners share."""
    resolver = WhisperModelResolver(
        default_model=settings.whisper.model,
        installer=BundledModelInstaller(data_dir=settings.data_path),
        models_dir=settings.whisper.models_path,
        allow_download=settings.downloads_allowed,
        downloadable=settings.models.downloadable,
        allowed=settings.models.allowed,
    )
    return WhisperModelStore(
        resolver=resolver,
        device=runtime.device,
        compute_type=runtime.compute_type,
        cpu_threads=runtime.cpu_threads,
        max_loaded=settings.models.max_loaded,
        idle_seconds=settings.models.idle_unload_seconds,
        batch_windows=runtime.shared_batch_size,
        batch_wait_seconds=runtime.batch_wait_seconds,
    )


def transcription(models: WhisperModelStore, vad: PyannoteVad | SileroVad, settings: Settings) -> TranscriptionStage:
    transcriber = WhisperXTranscriber(models=models, vad=vad, fit_windows=settings.whisper.fit_windows)
    return TranscriptionStage(
        transcriber=transcriber,
        live=WhisperUtteranceTranscriber(models=models),  # one window at a time, without VAD
        store=models,
        default_model=settings.whisper.model,
        warm_up=partial(transcriber.warm_up, settings.whisper.model),
    )


def alignment(
    settings: Settings, runtime: Runtime, whisper_models: WhisperModelStore, fallback: AlignmentStage
) -> AlignmentStage:
    """wav2vec2 models by the transcript's language (loaded on first use), then `fallback`'s aligners
    where none can be had (ALIGNMENT__FALLBACK)."""
    models = Wav2Vec2ModelStore(
        device=runtime.device,
        models_dir=settings.alignment.models_path,
        model_names=settings.alignment.models,
        allow_download=settings.downloads_allowed,
        download_dir=None,
        max_loaded=settings.models.max_loaded,
        idle_seconds=settings.models.idle_unload_seconds,
    )
    wav2vec2 = Wav2Vec2Aligner(models=models, whisper_models=whisper_models, data_dir=settings.data_path)
    return AlignmentStage(
        aligners=[wav2vec2, *fallback.aligners] if settings.alignment.fallback else [wav2vec2], store=models
    )


def pyannote_models(settings: Settings, runtime: Runtime) -> PyannoteModelStore:
    return PyannoteModelStore(
        default_model=settings.diarization.model,
        allowed_models=settings.diarization.models,
        device=runtime.device,
        token=settings.hf_token,
        cache_dir=None,
        allow_download=settings.downloads_allowed,
        max_loaded=settings.models.max_loaded,
        idle_seconds=settings.models.idle_unload_seconds,
    )


def diarization(models: PyannoteModelStore) -> DiarizationStage:
    # No warm-up: BACKENDS__DIARIZATION=auto loaded the default pipeline while choosing; else first use does.
    return DiarizationStage(diarizer=WhisperXDiarizer(models=models), store=models, default_model=models.default_model)
