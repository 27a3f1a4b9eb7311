"""Speaker diarization with whisperx's pyannote pipeline (hub id or local directory)."""

from __future__ import annotations

import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any

from app.adapters.audio import float_samples
from app.adapters.models.cache import ModelCache
from app.domain.errors import DomainError, ModelLoadFailed, ModelNotFound, NotADiarizationModel, StageUnavailable
from app.domain.models import Audio, Diarization, SpeakerTurn, TranscriptionOptions


class PyannoteModelStore:
    """ModelStore for the diarization stage: pyannote pipelines by hub id or local path — only the
    ones the settings name (DIARIZATION__MODEL, DIARIZATION__MODELS): loading a pipeline runs code
    its repository names, so a request never chooses an arbitrary one."""

    def __init__(
        self,
        default_model: str,
        device: str,
        token: str | None,
        cache_dir: Path | None,
        allow_download: bool = True,
        allowed_models: Collection[str] = (),
        max_loaded: int = 0,
        idle_seconds: float = 0.0,
    ) -> None:
        self.default_model = default_model
        self.allowed_models = frozenset({default_model, *allowed_models})
        self.allow_download = allow_download
        self.device = device
        self.token = token
        self.cache_dir = cache_dir
        self._cache: ModelCache[Any] = ModelCache(self._load, max_loaded, idle_seconds)

    def get(self, name: str | None = None) -> Any:
        return self._cache.get(self._canonical(name))

    def available(self) -> list[str]:
        return sorted(self.allowed_models)

    def requestable(self) -> list[str]:
        return self.available()

    def loaded(self) -> list[str]:
        return self._cache.loaded()

    def unload_idle(self) -> list[str]:
        return self._cache.unload_idle()

    def load(self, name: str) -> str:
        name = self._canonical(name)
        self._cache.get(name)
        return name

    def unload(self, name: str) -> bool:
        return self._cache.unload(self._canonical(name))

    def _canonical(self, name: str | None) -> str:
        name = (name or "").strip() or self.default_model
        if name == "whisper-1":
            raise NotADiarizationModel()
        if name not in self.allowed_models:
            raise ModelNotFound("diarization model", name[:200], self.allowed_models)
        return name

    def _load(self, name: str) -> Any:
        from whisperx.diarize import DiarizationPipeline

        reason = self.unavailable_reason(name)
        if reason is not None:
            # Fail at once instead of waiting on the hub's retries.
            raise ModelLoadFailed(f"Diarization model '{name}' cannot be loaded: {reason}.", param="diarize")
        try:
            return DiarizationPipeline(
                model_name=name,
                token=self.token,
                device=self.device,
                cache_dir=str(self.cache_dir) if self.cache_dir else None,
            )
        except Exception as exc:
            local = Path(name).expanduser().is_dir()
            hint = (
                f"the directory '{name}' is not a pyannote pipeline"
                if local
                else "set HF_TOKEN to a token that has accepted the model's terms and allow hub access, "
                "or set DIARIZATION__MODEL to a local pyannote pipeline directory"
            )
            raise ModelLoadFailed(
                f"Diarization model '{name}' could not be loaded ({type(exc).__name__}: {str(exc)[:200]}); {hint}.",
                param="diarize",
            ) from exc

    def unavailable_reason(self, name: str | None = None) -> str | None:
        """Why the model surely cannot load now (None: it may), without touching the network."""
        name = name or self.default_model
        if Path(name).expanduser().is_dir() or self._cached(name):
            return None
        if not self.allow_download:
            return (
                "it is not in the local hub cache and downloads are disabled (ALLOW_DOWNLOADS=false or "
                "HF_HUB_OFFLINE=1); set DIARIZATION__MODEL to a local pyannote pipeline directory, "
                "or allow downloads and set HF_TOKEN"
            )
        if not self.token:
            return (
                "pyannote's pipelines are gated on the hub: set HF_TOKEN to a token that has accepted the "
                "model's terms, or set DIARIZATION__MODEL to a local pyannote pipeline directory"
            )
        return None

    def why_default_unusable(self) -> str | None:
        """None once the default pipeline has loaded; else why it cannot (tried once per call)."""
        reason = self.unavailable_reason()
        if reason is not None:
            return reason
        try:
            self.load(self.default_model)
        except DomainError as exc:
            return exc.message
        return None

    def _cached(self, name: str) -> bool:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.yaml", cache_dir=str(self.cache_dir) if self.cache_dir else None)
        return isinstance(found, str)


class WhisperXDiarizer:
    name = "whisperx"

    def __init__(self, models: PyannoteModelStore) -> None:
        self.models = models
        self._lock = threading.Lock()  # one pyannote pipeline run at a time per process

    def check(self, options: TranscriptionOptions) -> None:
        """Every option is honoured."""

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization:
        try:
            pipeline = self.models.get()
        except ModelLoadFailed as exc:
            raise StageUnavailable(exc.message, param="diarize") from exc
        with self._lock:
            frame = pipeline(
                float_samples(audio.samples),
                min_speakers=options.min_speakers,
                max_speakers=options.max_speakers,
            )
        turns = tuple(
            SpeakerTurn(start=float(row.start), end=float(row.end), speaker=str(row.speaker))
            for row in frame.itertuples()
        )
        # Voice prints come from the pipeline's VoicePrinter, of one kind whichever diarizer ran.
        return Diarization(turns=turns)
