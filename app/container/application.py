"""The whole application: the stages (stages.py) and the jobs joined; the pipeline, the HTTP edge's
policy, the request services and live sessions."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from app.adapters.formatters import all_formatters
from app.adapters.jobs import celery_backend
from app.adapters.jobs.envelope import JobEnvelopeRenderer
from app.adapters.jobs.local import LocalJobDispatcher
from app.adapters.jobs.stores import sqlite_stores
from app.adapters.jobs.webhook import WebhookNotifier
from app.adapters.live_audio import LiveAudioStreams
from app.adapters.webrtc import AiortcPeers
from app.config.api_keys import load_api_keys
from app.config.settings import Settings
from app.container.stages import Alignment, Core, Diarization, Transcription
from app.domain.model_policy import ModelPolicy
from app.domain.pipeline import TranscriptionPipeline
from app.services.admission import Admission, UploadGate, inference_slots
from app.services.audio_requests import AudioRequestParser
from app.services.client_secrets import ClientSecrets
from app.services.executions import executions_by_mode
from app.services.formats import Formats
from app.services.jobs import JobRunner, JobService
from app.services.metrics import Metrics
from app.services.realtime import DecodeQueue, RealtimeService
from app.services.realtime.calls import RealtimeCalls
from app.services.requests import RequestTracker
from app.services.speakers import SpeakerService
from app.services.transcription import TranscriptionService


class Jobs(containers.DeclarativeContainer):
    """Async jobs and what lives with them, by JOBS__BACKEND: `local` (SQLite; jobs run in this server) or
    `celery` (Redis, shared by every replica; jobs run on `whisperx-api-server worker` processes)."""

    settings = providers.Dependency(instance_of=Settings)
    pipeline = providers.Dependency(instance_of=TranscriptionPipeline)
    formatters = providers.Dependency(instance_of=Formats)
    run_in_slot: providers.Dependency[Any] = providers.Dependency()  # local jobs take inference slots as requests do
    config = settings.provided.jobs

    has_workers = providers.Selector(config.backend, local=providers.Object(False), celery=providers.Object(True))
    # Enrolled voices and realtime client secrets live with the jobs, so every replica shares them.
    stores = providers.Selector(
        config.backend,
        local=providers.ThreadSafeSingleton(sqlite_stores, settings.provided.jobs_database),
        celery=providers.ThreadSafeSingleton(celery_backend.redis_stores, config.redis_url, config.heartbeat_seconds),
    )
    store = stores.provided.jobs
    speaker_registry = stores.provided.speakers
    client_secret_store = stores.provided.client_secrets
    workers = stores.provided.workers  # `whisperx-api-server worker` processes
    envelopes = providers.ThreadSafeSingleton(JobEnvelopeRenderer, store, formatters)
    notifier = providers.ThreadSafeSingleton(
        WebhookNotifier,
        outbox=stores.provided.outbox,
        secret=settings.provided.webhook_secret,
        allowed_hosts=settings.provided.webhook_allowed_hosts,
        envelope=envelopes.provided.render,
        max_attempts=settings.provided.webhook_max_attempts,
        first_retry_seconds=settings.provided.webhook_first_retry_seconds,
    )
    runner = providers.ThreadSafeSingleton(
        JobRunner, store, notifier, pipeline, config.result_ttl_seconds, max_attempts=config.max_attempts
    )
    results = settings.provided.results  # RESULTS__*: how many synchronous results are kept, how long
    dispatcher = providers.Selector(
        config.backend,
        local=providers.ThreadSafeSingleton(
            LocalJobDispatcher, runner.provided.run, store, run_in_slot, results.ttl_seconds
        ),
        celery=providers.ThreadSafeSingleton(
            celery_backend.dispatcher, config.redis_url, config.visibility_timeout_seconds
        ),
    )
    requests = providers.ThreadSafeSingleton(RequestTracker, store, results.ttl_seconds, results.max_entries)
    service = providers.ThreadSafeSingleton(
        JobService,
        store,
        dispatcher,
        notifier,
        result_ttl_seconds=config.result_ttl_seconds,
        max_unfinished=config.max_unfinished,
        max_unfinished_per_owner=config.max_unfinished_per_key,
    )


class Application(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    core = providers.Container(Core, settings=settings)
    transcription = providers.Container(Transcription, settings=settings, core=core)
    alignment = providers.Container(Alignment, settings=settings, core=core, transcription=transcription)
    diarization = providers.Container(Diarization, settings=settings, core=core)
    pipeline = providers.ThreadSafeSingleton(
        TranscriptionPipeline,
        decoder=core.decoder,
        transcriber=transcription.transcriber,
        aligners=alignment.aligners,
        diarizer=diarization.diarizer,
        voice_printer=diarization.voice_printer,
    )
    stages = providers.Dict(
        transcription=transcription.listing, alignment=alignment.listing, diarization=diarization.listing
    )
    formatters = providers.ThreadSafeSingleton(
        Formats, providers.Callable(all_formatters), default=settings.provided.default_response_format
    )
    # MODELS__ALLOWED, the same on every way in (HTTP, MCP, CLI, realtime).
    model_policy = providers.ThreadSafeSingleton(
        ModelPolicy, settings.provided.models.allowed, settings.provided.whisper.model
    )

    # The HTTP edge: inference slots and the queue before them, request bodies, keys, metrics.
    limiter = providers.ThreadSafeSingleton(inference_slots, settings.provided.max_concurrent_transcriptions)
    admission = providers.ThreadSafeSingleton(Admission, limiter, settings.provided.max_queued_requests)
    uploads = providers.ThreadSafeSingleton(
        UploadGate, settings.provided.max_concurrent_uploads, settings.provided.upload_timeout_seconds
    )
    api_keys = providers.ThreadSafeSingleton(load_api_keys, settings)
    metrics = providers.ThreadSafeSingleton(Metrics, admission, stages)

    jobs = providers.Container(
        Jobs, settings=settings, pipeline=pipeline, formatters=formatters, run_in_slot=admission.provided.run_in_slot
    )
    speakers = providers.ThreadSafeSingleton(
        SpeakerService,
        core.decoder,
        diarization.voice_printer,
        jobs.speaker_registry,
        max_per_owner=settings.provided.max_speakers_per_key,
    )
    client_secrets = providers.ThreadSafeSingleton(ClientSecrets, jobs.client_secret_store)
    # Form fields -> AudioRequest, for the HTTP API and the command line alike.
    request_parser = providers.ThreadSafeSingleton(
        AudioRequestParser, settings, formatters, default_batch_size=core.batch_size, model_policy=model_policy
    )
    executions = providers.Factory(  # how each request mode runs
        executions_by_mode,
        pipeline=pipeline,
        admission=admission,
        observer=metrics,
        tracker=jobs.requests,
        jobs=jobs.service,
        job_workers=jobs.has_workers,
        worker_timeout_seconds=settings.provided.jobs.sync_timeout_seconds,
    )
    transcription_service = providers.Factory(
        TranscriptionService, executions, core.fetcher, uploads, speakers, admission
    )

    # Live sessions over a WebSocket or a WebRTC call; their decodings take the same inference slots.
    live_audio = providers.ThreadSafeSingleton(LiveAudioStreams)
    realtime = providers.ThreadSafeSingleton(
        RealtimeService,
        live_audio=live_audio,
        decoder=providers.ThreadSafeSingleton(DecodeQueue, transcription.live_transcriber, limiter),
        limits=settings.provided.realtime,
        voice_printer=diarization.voice_printer,
        speakers=speakers,
        model_policy=model_policy,
        default_language=settings.provided.default_language,
    )
    peers = providers.ThreadSafeSingleton(
        AiortcPeers, settings.provided.realtime.webrtc_hosts, settings.provided.realtime.webrtc_public_address
    )
    calls = providers.ThreadSafeSingleton(RealtimeCalls, peers, realtime)


def build_container(settings: Settings | None = None) -> Application:
    """The application's container (BACKENDS__* were checked when the settings loaded)."""
    return Application(settings=settings or Settings.from_env())
