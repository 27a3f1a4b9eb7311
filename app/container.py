"""The composition root: the only module that knows which adapter implements which port.

Each stage's backend is picked by BACKENDS__<STAGE>. Built-in backends are listed here;
third-party ones register a factory `factory(settings) -> adapter` under the entry-point
groups `whisperx_api_server.transcription`, `.alignment` and `.diarization`.
"""

from __future__ import annotations

import os
from importlib.metadata import entry_points
from pathlib import Path

import structlog
from dependency_injector import containers, providers

from app.adapters.audio import PyAVDecoder
from app.adapters.cross_attention.aligner import CrossAttentionAligner
from app.adapters.cross_attention.model_store import CrossAttentionModelStore
from app.adapters.formatters.aud import AudacityFormatter
from app.adapters.formatters.diarized_json import DiarizedJsonFormatter
from app.adapters.formatters.json_ import JsonFormatter
from app.adapters.formatters.srt import SrtFormatter
from app.adapters.formatters.text import TextFormatter
from app.adapters.formatters.verbose_json import VerboseJsonFormatter
from app.adapters.formatters.vtt import VttFormatter
from app.adapters.formatters.vtt_json import VttJsonFormatter
from app.adapters.jobs.envelope import JobEnvelopeRenderer
from app.adapters.jobs.local import LocalJobDispatcher
from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.adapters.jobs.webhook import WebhookNotifier
from app.adapters.models.bundled import BundledModelInstaller
from app.adapters.models.device import resolve_compute_type, resolve_cpu_threads, resolve_device
from app.adapters.models.resolver import WhisperModelResolver
from app.adapters.speaker_clustering.diarizer import SpeakerClusteringDiarizer, VoiceEncoder
from app.adapters.speaker_clustering.local_speakers import SegmentationModel
from app.adapters.speaker_clustering.model_store import SpeakerClusteringModelStore
from app.adapters.whisperx.aligner import Wav2Vec2Aligner, Wav2Vec2ModelStore
from app.adapters.whisperx.diarizer import PyannoteModelStore, WhisperXDiarizer
from app.adapters.whisperx.model_store import WhisperModelStore
from app.adapters.whisperx.transcriber import WhisperXTranscriber
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.api.errors import status_of
from app.config.settings import Settings, SettingsError
from app.domain.errors import DomainError
from app.domain.jobs import JobService
from app.domain.pipeline import TranscriptionPipeline

logger = structlog.get_logger(__name__)

ENTRY_POINT_GROUP = "whisperx_api_server.{stage}"
BUILTIN_BACKENDS = {
    "transcription": ("whisperx",),
    "alignment": ("whisperx", "cross_attention"),
    "diarization": ("auto", "whisperx", "speaker_clustering"),
}


def _optional_path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _downloads_allowed(settings: Settings) -> bool:
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    return settings.allow_downloads and not offline


def choose_diarization_backend(settings: Settings, pyannote: PyannoteModelStore) -> str:
    """`auto`: whisperx's pyannote pipeline when it loads, else the embedded speaker_clustering.

    Decided once (the provider is a singleton) and logged, so a deployment knows what it runs.
    """
    chosen = settings.backends.diarization
    if chosen != "auto":
        return chosen
    reason = pyannote.unavailable_reason()
    if reason is None:
        try:
            pyannote.load(pyannote.default_model)
            logger.info("diarization backend chosen", backend="whisperx", model=pyannote.default_model)
            return "whisperx"
        except DomainError as exc:
            reason = exc.message
    logger.info("diarization backend chosen", backend="speaker_clustering", why_not_whisperx=reason)
    return "speaker_clustering"


def _aligner_chain(primary, fallback, use_fallback: bool) -> list:
    return [primary, fallback] if use_fallback else [primary]


def _job_service(store, dispatcher, notifier, settings: Settings) -> JobService:
    service = JobService(store, dispatcher, notifier, result_ttl_seconds=settings.jobs.result_ttl_seconds,
                         max_attempts=settings.jobs.max_attempts, status_of=status_of,
                         max_unfinished=settings.jobs.max_unfinished)
    if hasattr(dispatcher, "attach"):  # in-process dispatchers run jobs through the service itself
        dispatcher.attach(service)
    return service


def _celery_store(url: str):
    from app.adapters.jobs.redis_store import RedisJobStore  # imports redis only when chosen

    return RedisJobStore(url)


def _celery_dispatcher(url: str, visibility_timeout: float):
    from app.adapters.jobs.celery_app import CeleryJobDispatcher

    return CeleryJobDispatcher(url, visibility_timeout)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    device = providers.Callable(resolve_device, settings.provided.whisper.inference_device)
    compute_type = providers.Callable(resolve_compute_type, settings.provided.whisper.compute_type, device)
    cpu_threads = providers.Callable(resolve_cpu_threads, settings.provided.whisper.cpu_threads)
    downloads_allowed = providers.Callable(_downloads_allowed, settings)
    data_dir = providers.Callable(lambda s: s.data_path, settings)

    decoder = providers.ThreadSafeSingleton(PyAVDecoder, max_seconds=settings.provided.max_audio_seconds)

    # Transcription stage
    bundled_models = providers.ThreadSafeSingleton(BundledModelInstaller, data_dir=data_dir)
    model_resolver = providers.ThreadSafeSingleton(
        WhisperModelResolver,
        default_model=settings.provided.whisper.model,
        installer=bundled_models,
        models_dir=providers.Callable(_optional_path, settings.provided.whisper.models_dir),
        allow_download=downloads_allowed,
    )
    whisper_models = providers.ThreadSafeSingleton(
        WhisperModelStore, resolver=model_resolver, device=device, compute_type=compute_type, cpu_threads=cpu_threads
    )
    vad = providers.Selector(
        settings.provided.whisper.vad_method,
        silero=providers.ThreadSafeSingleton(SileroVad),
        pyannote=providers.ThreadSafeSingleton(PyannoteVad, device=device),
    )
    transcriber = providers.Selector(
        settings.provided.backends.transcription,
        whisperx=providers.ThreadSafeSingleton(WhisperXTranscriber, models=whisper_models, vad=vad),
    )
    transcription_models = providers.Selector(settings.provided.backends.transcription, whisperx=whisper_models)

    # Alignment stage
    wav2vec2_models = providers.ThreadSafeSingleton(
        Wav2Vec2ModelStore,
        device=device,
        models_dir=providers.Callable(_optional_path, settings.provided.alignment.models_dir),
        model_names=settings.provided.alignment.models,
        allow_download=downloads_allowed,
        download_dir=None,
    )
    cross_attention_aligner = providers.ThreadSafeSingleton(CrossAttentionAligner, models=whisper_models)
    wav2vec2_aligner = providers.ThreadSafeSingleton(
        Wav2Vec2Aligner, models=wav2vec2_models, whisper_models=whisper_models, data_dir=data_dir
    )
    aligners = providers.Selector(
        settings.provided.backends.alignment,
        whisperx=providers.Callable(
            _aligner_chain, wav2vec2_aligner, cross_attention_aligner, settings.provided.alignment.fallback
        ),
        cross_attention=providers.List(cross_attention_aligner),
    )
    alignment_models = providers.Selector(
        settings.provided.backends.alignment,
        whisperx=wav2vec2_models,
        cross_attention=providers.ThreadSafeSingleton(CrossAttentionModelStore),
    )

    # Diarization stage
    pyannote_models = providers.ThreadSafeSingleton(
        PyannoteModelStore,
        default_model=settings.provided.diarization.model,
        device=device,
        token=settings.provided.hf_token,
        cache_dir=None,
        allow_download=downloads_allowed,
    )
    segmentation_model = providers.ThreadSafeSingleton(SegmentationModel, device=device)
    voice_encoder = providers.ThreadSafeSingleton(VoiceEncoder, device=device)
    speaker_clustering_models = providers.ThreadSafeSingleton(
        SpeakerClusteringModelStore, segmentation=segmentation_model, encoder=voice_encoder
    )
    diarization_backend = providers.ThreadSafeSingleton(choose_diarization_backend, settings, pyannote_models)
    diarizer = providers.Selector(
        diarization_backend,
        whisperx=providers.ThreadSafeSingleton(WhisperXDiarizer, models=pyannote_models),
        speaker_clustering=providers.ThreadSafeSingleton(
            SpeakerClusteringDiarizer, segmentation=segmentation_model, encoder=voice_encoder
        ),
    )
    diarization_models = providers.Selector(
        diarization_backend, whisperx=pyannote_models, speaker_clustering=speaker_clustering_models
    )

    pipeline = providers.ThreadSafeSingleton(
        TranscriptionPipeline, decoder=decoder, transcriber=transcriber, aligners=aligners, diarizer=diarizer
    )

    formatters = providers.Dict(
        text=providers.ThreadSafeSingleton(TextFormatter),
        json=providers.ThreadSafeSingleton(JsonFormatter),
        verbose_json=providers.ThreadSafeSingleton(VerboseJsonFormatter),
        vtt_json=providers.ThreadSafeSingleton(VttJsonFormatter),
        srt=providers.ThreadSafeSingleton(SrtFormatter),
        vtt=providers.ThreadSafeSingleton(VttFormatter),
        aud=providers.ThreadSafeSingleton(AudacityFormatter),
        diarized_json=providers.ThreadSafeSingleton(DiarizedJsonFormatter),
    )

    # Async jobs (JOBS__BACKEND)
    job_store = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(SqliteJobStore, path=providers.Callable(lambda d: d / "jobs.sqlite3", data_dir)),
        celery=providers.ThreadSafeSingleton(_celery_store, settings.provided.jobs.redis_url),
    )
    job_dispatcher = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(LocalJobDispatcher, pipeline=pipeline),
        celery=providers.ThreadSafeSingleton(_celery_dispatcher, settings.provided.jobs.redis_url,
                                             settings.provided.jobs.visibility_timeout_seconds),
    )
    job_envelopes = providers.ThreadSafeSingleton(JobEnvelopeRenderer, store=job_store, formatters=formatters)
    job_notifier = providers.ThreadSafeSingleton(
        WebhookNotifier,
        secret=settings.provided.webhook_secret,
        allowed_hosts=settings.provided.webhook_allowed_hosts,
        envelope=job_envelopes.provided.render,
    )
    jobs = providers.ThreadSafeSingleton(_job_service, job_store, job_dispatcher, job_notifier, settings)


class _NoModels:
    """ModelStore for a third-party backend that exposes none."""

    def available(self) -> list[str]:
        return []

    def loaded(self) -> list[str]:
        return []

    def load(self, name: str) -> str:
        from app.domain.errors import ModelNotFound

        raise ModelNotFound("model", name, [])

    def unload(self, name: str) -> bool:
        return False


def _models_of(adapter) -> object:
    models = getattr(adapter, "models", None)
    return models if models is not None else _NoModels()


def _register_plugins(container: Container) -> dict[str, list[str]]:
    """Add entry-point backends to each stage's selector; return every registered name."""
    selectors = {
        "transcription": (container.transcriber, container.transcription_models),
        "alignment": (container.aligners, container.alignment_models),
        "diarization": (container.diarizer, container.diarization_models),
    }
    registered: dict[str, list[str]] = {}
    for stage, (adapter_selector, models_selector) in selectors.items():
        names = list(BUILTIN_BACKENDS[stage])
        for ep in entry_points(group=ENTRY_POINT_GROUP.format(stage=stage)):
            if ep.name in names:
                continue
            adapter = providers.ThreadSafeSingleton(_call_factory, ep, container.settings)
            provided = providers.List(adapter) if stage == "alignment" else adapter
            adapter_selector.set_providers(**{ep.name: provided})
            models_selector.set_providers(**{ep.name: providers.Callable(_models_of, adapter)})
            names.append(ep.name)
        registered[stage] = names
    return registered


def _call_factory(ep, settings: Settings):
    return ep.load()(settings)


def build_container(settings: Settings | None = None) -> Container:
    settings = settings or Settings.from_env()
    container = Container(settings=settings)
    registered = _register_plugins(container)
    chosen = {
        "transcription": settings.backends.transcription,
        "alignment": settings.backends.alignment,
        "diarization": settings.backends.diarization,
    }
    for stage, name in chosen.items():
        if name not in registered[stage]:
            raise SettingsError(
                f"Unknown {stage} backend '{name}' (BACKENDS__{stage.upper()}). "
                f"Registered: {', '.join(sorted(registered[stage]))}."
            )
    return container
