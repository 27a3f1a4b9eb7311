"""create_app(): the Litestar app over a dependency-injector container (the composition root)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import numpy as np
import structlog
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.api.admission import Admission, ClientGone, Draining, Overloaded
from app.api.errors import (
    client_gone_handler,
    domain_error_handler,
    draining_handler,
    http_error_handler,
    internal_error_handler,
    overloaded_handler,
)
from app.api.health import health, metrics
from app.api.jobs import JobsController
from app.api.webui import webui_routes
from app.api.metrics import Metrics
from app.api.middleware import RequestLogMiddleware
from app.api.auth import admin_guard, api_key_guard, load_api_keys
from app.api.models import OpenAIModelsController, model_routers
from app.api.services import Services, StageModels
from app.api.transcriptions import AudioController
from app.config.logging import configure_logging
from app.config.settings import Settings
from app.container import Container, build_container
from app.domain.errors import DomainError

logger = structlog.get_logger(__name__)
# Multipart framing and the other form fields ride on top of the file itself.
FORM_OVERHEAD_BYTES = 1024 * 1024
JOB_EXPIRY_INTERVAL_SECONDS = 60


def services_from(container: Container, limiter: anyio.CapacityLimiter) -> Services:
    settings: Settings = container.settings()
    admission = Admission(limiter, max(0, settings.max_queued_requests))
    stages = {
        "transcription": StageModels(settings.backends.transcription, settings.whisper.model, container.transcription_models()),
        "alignment": StageModels(settings.backends.alignment, None, container.alignment_models()),
        "diarization": _diarization_stage(container),
    }
    return Services(
        settings=settings,
        pipeline=container.pipeline(),
        formatters=container.formatters(),
        limiter=limiter,
        admission=admission,
        stages=stages,
        metrics=Metrics(admission, lambda: {name: stage.store for name, stage in stages.items()}),
        jobs=container.jobs(),
    )


def _diarization_stage(container: Container) -> StageModels:
    backend = container.diarization_backend()
    store = container.diarization_models()
    default = container.settings().diarization.model if backend == "whisperx" else next(iter(store.available()), None)
    return StageModels(backend, default, store)


def warm_up(container: Container) -> None:
    """Build every stage now so a bad backend fails at start-up, and load the default model."""
    settings: Settings = container.settings()
    container.pipeline()
    if not settings.whisper.preload:
        return
    try:
        container.transcription_models().load(settings.whisper.model)
        if settings.backends.transcription == "whisperx":
            container.vad().warm_up()
        if container.diarization_backend() == "speaker_clustering":
            container.speaker_clustering_models().load(next(iter(container.speaker_clustering_models().available())))
    except DomainError as exc:
        # Keep serving: other models may load, and a later request retries this one.
        logger.error("default model failed to load", model=settings.whisper.model, error=exc.message)


def recover_jobs(container: Container) -> int:
    """Jobs a previous process of this server left behind run again (in-process backend only:
    Celery redelivers its own)."""
    dispatcher = container.job_dispatcher()
    return dispatcher.recover(container.job_store()) if hasattr(dispatcher, "recover") else 0


async def expire_jobs_forever(services: Services) -> None:
    while True:
        await anyio.to_thread.run_sync(services.jobs.expire)
        await anyio.sleep(JOB_EXPIRY_INTERVAL_SECONDS)


def create_app(container: Container | None = None, settings: Settings | None = None) -> Litestar:
    container = container or build_container(settings)
    settings = container.settings()
    limiter = anyio.CapacityLimiter(max(1, settings.max_concurrent_transcriptions))
    services = services_from(container, limiter)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(warm_up, container)
        logger.info(
            "ready",
            model=settings.whisper.model,
            device=container.device(),
            compute_type=container.compute_type(),
            backends={"transcription": settings.backends.transcription, "alignment": settings.backends.alignment,
                      "diarization": container.diarization_backend()},
        )
        recovered = await anyio.to_thread.run_sync(recover_jobs, container)
        if recovered:
            logger.info("unfinished jobs re-queued", jobs=recovered)
        async with anyio.create_task_group() as background:
            background.start_soon(expire_jobs_forever, services)
            yield
            background.cancel_scope.cancel()

    keys = load_api_keys(settings)
    protected = Router(
        path="/",
        route_handlers=[AudioController, JobsController, OpenAIModelsController, *model_routers(admin_guard(keys))],
        guards=[api_key_guard(keys)],
    )
    app = Litestar(
        # Health and metrics stay open for load balancers and scrapers; the page asks for a key itself.
        route_handlers=[protected, health, metrics, *(webui_routes() if settings.webui.enabled else [])],
        dependencies={"services": Provide(lambda: services, sync_to_thread=False)},
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            Overloaded: overloaded_handler,
            Draining: draining_handler,
            ClientGone: client_gone_handler,
            HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
        },
        lifespan=[lifespan],
        request_max_body_size=settings.max_upload_size_bytes + FORM_OVERHEAD_BYTES,
        type_encoders={np.generic: lambda v: v.item()},
        openapi_config=OpenAPIConfig(title="WhisperX API Server", version="0.1.0"),
        logging_config=None,
        debug=False,
    )
    # Outside Litestar's router, so unknown paths (404) and every error also get an id and a log line.
    app.asgi_handler = RequestLogMiddleware(services.metrics)(app.asgi_handler)
    app.state.admission = services.admission  # the server's signal handler drains through it
    return app


def app_from_env() -> Litestar:
    """Entry point for uvicorn's --factory."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings=settings)
