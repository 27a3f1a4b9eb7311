"""What serves requests around the pipeline: response formats, async jobs, the HTTP edge's policy, live sessions."""

from __future__ import annotations

from typing import Any

from anyio import CapacityLimiter
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
from app.domain.model_policy import ModelPolicy
from app.domain.pipeline import TranscriptionPipeline
from app.services.admission import Admission, UploadGate, inference_slots
from app.services.formats import Formats
from app.services.jobs import JobRunner, JobService
from app.services.metrics import Metrics
from app.services.realtime import DecodeQueue, RealtimeService
from app.services.realtime.calls import RealtimeCalls
from app.services.requests import RequestTracker
from app.services.speakers import SpeakerService


class Formatting(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    formatters = providers.ThreadSafeSingleton(
        Formats, providers.Callable(all_formatters), default=settings.provided.default_response_format
    )


class Jobs(containers.DeclarativeContainer):
    """Async jobs, JOBS__BACKEND: `local` (SQLite + a thread here) or `celery` (Redis + workers)."""

    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    pipeline = providers.Dependency(instance_of=TranscriptionPipeline)
    formatters = providers.Dependency(instance_of=Formats)
    run_in_slot: providers.Dependency[Any] = providers.Dependency()  # local jobs take inference slots as requests do

    has_workers = providers.Selector(
        settings.provided.jobs.backend, local=providers.Object(False), celery=providers.Object(True)
    )  # `whisperx-api-server worker` processes
    # Enrolled voices and realtime client secrets live with the jobs, so every replica shares them.
    stores = providers.Selector(
        settings.provided.jobs.backend,
        local=providers.ThreadSafeSingleton(sqlite_stores, settings.provided.jobs_database),
        celery=providers.ThreadSafeSingleton(
            celery_backend.redis_stores, settings.provided.jobs.redis_url, settings.provided.jobs.heartbeat_seconds
        ),
    )
    store = stores.provided.jobs
    outbox = stores.provided.outbox
    speaker_registry = stores.provided.speakers
    client_secret_store = stores.provided.client_secrets
    workers = stores.provided.workers
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
            celery_backend.dispatcher,
            settings.provided.jobs.redis_url,
            settings.provided.jobs.visibility_timeout_seconds,
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
    stage_stores = providers.Dependency(instance_of=dict)

    limiter = providers.ThreadSafeSingleton(inference_slots, settings.provided.max_concurrent_transcriptions)
    admission = providers.ThreadSafeSingleton(Admission, limiter, settings.provided.max_queued_requests)
    uploads = providers.ThreadSafeSingleton(
        UploadGate, settings.provided.max_concurrent_uploads, settings.provided.upload_timeout_seconds
    )
    metrics = providers.ThreadSafeSingleton(Metrics, admission, stage_stores)
    api_keys = providers.ThreadSafeSingleton(load_api_keys, settings)


class Realtime(containers.DeclarativeContainer):
    """Live transcription sessions over WebSocket (app/services/realtime/)."""

    settings = providers.Dependency(instance_of=Settings)
    transcription = providers.DependenciesContainer()
    limiter = providers.Dependency(instance_of=CapacityLimiter)
    model_policy = providers.Dependency(instance_of=ModelPolicy)
    voice_printer: providers.Dependency[Any] = providers.Dependency()  # live speakers' prints
    speakers = providers.Dependency(instance_of=SpeakerService)  # names enrolled at /v1/speakers

    live_audio = providers.ThreadSafeSingleton(LiveAudioStreams)
    # Live decodings take the same inference slots as file transcriptions.
    decoder = providers.ThreadSafeSingleton(DecodeQueue, transcriber=transcription.live_transcriber, limiter=limiter)
    service = providers.ThreadSafeSingleton(
        RealtimeService,
        live_audio=live_audio,
        decoder=decoder,
        limits=settings.provided.realtime,
        voice_printer=voice_printer,
        speakers=speakers,
        model_policy=model_policy,
        default_language=settings.provided.default_language,
    )
    # WebRTC calls (POST /v1/realtime/calls): sessions whose audio and events travel over the call.
    calls = providers.ThreadSafeSingleton(
        RealtimeCalls,
        peers=providers.ThreadSafeSingleton(AiortcPeers, settings.provided.realtime.webrtc_hosts),
        realtime=service,
    )
