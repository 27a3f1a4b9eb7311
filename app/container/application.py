"""The whole application: the stage and serving containers joined, the pipeline and the request services."""

from __future__ import annotations

from dataclasses import dataclass

from dependency_injector import containers, providers

from app.config.settings import Settings
from app.container.serving import Formatting, HttpPolicy, Jobs, Realtime
from app.container.stages import Alignment, Core, Diarization, Transcription
from app.domain.model_policy import ModelPolicy
from app.domain.pipeline import TranscriptionPipeline
from app.domain.ports.models import ModelStore
from app.services.audio_requests import AudioRequestParser
from app.services.client_secrets import ClientSecrets
from app.services.executions import AsJob, InProcess, Streamed, ViaWorkers
from app.services.speakers import SpeakerService
from app.services.transcription import TranscriptionService

# Celery-mode synchronous requests read their job's state this often (any replica can serve them).
JOB_POLL_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class StageModels:
    """One pipeline stage as the model-management endpoints show it."""

    backend: str
    default: str | None
    store: ModelStore


class Application(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    core = providers.Container(Core, settings=settings)
    transcription = providers.Container(Transcription, settings=settings, core=core)
    alignment = providers.Container(Alignment, settings=settings, core=core, transcription=transcription)
    diarization = providers.Container(Diarization, settings=settings, core=core)
    formats = providers.Container(Formatting, settings=settings)
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
            "stream": providers.Factory(Streamed, pipeline=pipeline, admission=http.admission, observer=http.metrics),
        }
    )
    speakers = providers.ThreadSafeSingleton(
        SpeakerService,
        decoder=core.decoder,
        printer=diarization.voice_printer,
        registry=jobs.speaker_registry,
        max_per_owner=settings.provided.max_speakers_per_key,
    )
    client_secrets = providers.ThreadSafeSingleton(ClientSecrets, store=jobs.client_secret_store)
    realtime = providers.Container(
        Realtime,
        settings=settings,
        transcription=transcription,
        limiter=http.limiter,
        model_policy=model_policy,
        voice_printer=diarization.voice_printer,
        speakers=speakers,
    )
    transcription_service = providers.Factory(
        TranscriptionService,
        executions=executions,
        fetcher=core.fetcher,
        uploads=http.uploads,
        speakers=speakers,
        admission=http.admission,
    )


def build_container(settings: Settings | None = None) -> Application:
    """The application's container; BACKENDS__* were checked against the registered backends when the
    settings loaded."""
    return Application(settings=settings or Settings.from_env())
