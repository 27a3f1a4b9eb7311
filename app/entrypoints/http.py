"""The HTTP entrypoint: create_app() builds the Litestar app over the container.

Handlers, guards, the request log and the drain all call the container's providers when they need
them (handlers through Litestar dependencies), never a value taken at start-up: a provider
overridden after create_app (in a test) takes effect everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import anyio
import numpy as np
import structlog
from litestar import Litestar, Router
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from app.api.auth import admin_guard, api_key_guard
from app.api.errors import domain_error_handler, http_error_handler, internal_error_handler
from app.api.health import health, metrics
from app.api.info import info
from app.api.jobs import JobsController
from app.api.mcp import McpEndpoint
from app.api.middleware import RequestLogMiddleware
from app.api.models import OpenAIModelsController, model_catalog, model_routers
from app.api.realtime import create_client_secret, realtime_session
from app.api.realtime_calls import call_routes
from app.api.speakers import SpeakersController
from app.api.transcriptions import AudioController
from app.api.webui import webui_routes
from app.config.settings import Settings
from app.container import Application
from app.domain.errors import DomainError
from app.entrypoints.bootstrap import bootstrap, start_housekeeping, warm_up

logger = structlog.get_logger(__name__)
# Multipart framing and the other form fields ride on top of the file itself.
FORM_OVERHEAD_BYTES = 1024 * 1024
JOB_EXPIRY_INTERVAL_SECONDS = 60


def _provide(provider: Callable[[], object]) -> Provide:
    return Provide(lambda: provider(), sync_to_thread=False)


def dependencies(container: Application) -> dict[str, Provide]:
    return {
        "settings": _provide(container.settings),
        "parser": _provide(container.request_parser),
        "formatters": _provide(container.formatters),
        "transcription_service": _provide(container.transcription_service),
        "jobs": _provide(container.jobs.service),
        "stages": _provide(container.stages),
        "admission": _provide(container.admission),
        "uploads": _provide(container.uploads),
        "api_keys": _provide(container.api_keys),
        "workers": _provide(container.jobs.workers),
        "distributed": _provide(container.jobs.has_workers),
        "metrics": _provide(container.metrics),
        "realtime": _provide(container.realtime),
        "client_secrets": _provide(container.client_secrets),
        "calls": _provide(container.calls),
        "speakers": _provide(container.speakers),
        "model_policy": _provide(container.model_policy),
    }


def mcp_endpoint(container: Application) -> McpEndpoint:
    return McpEndpoint(
        service=container.transcription_service,
        parser=container.request_parser,
        formatters=container.formatters,
        jobs=container.jobs.service,
        stages=container.stages,
        settings=container.settings,
        uploads=container.uploads,
        api_keys=container.api_keys,
        model_policy=container.model_policy,
    )


def lifespan(container: Application, mcp: McpEndpoint):
    @asynccontextmanager
    async def run(_: Litestar) -> AsyncIterator[None]:
        settings: Settings = container.settings()
        await anyio.to_thread.run_sync(warm_up, container)
        runtime = container.core.runtime()
        logger.info(
            "ready",
            model=settings.whisper.model,
            device=runtime.device,
            compute_type=runtime.compute_type,
            backends={
                "transcription": settings.backends.transcription,
                "alignment": settings.backends.alignment,
                "diarization": container.diarization.backend(),
            },
        )
        jobs = container.jobs.service()
        recovered = await anyio.to_thread.run_sync(jobs.recover)
        if recovered:
            logger.info("unfinished jobs re-queued", jobs=recovered)
        stop_housekeeping = start_housekeeping(container)
        try:
            async with mcp.sessions.run(), anyio.create_task_group() as background:
                background.start_soon(_expire_jobs_forever, container)
                background.start_soon(container.jobs.dispatcher().run_here)
                if settings.realtime.enabled and settings.realtime.webrtc:
                    background.start_soon(container.calls().run_here)
                yield
                background.cancel_scope.cancel()
        finally:
            await anyio.to_thread.run_sync(stop_housekeeping)

    return run


async def _expire_jobs_forever(container: Application) -> None:
    while True:
        await anyio.to_thread.run_sync(container.jobs.service().expire)
        await anyio.sleep(JOB_EXPIRY_INTERVAL_SECONDS)


def create_app(container: Application | None = None, settings: Settings | None = None) -> Litestar:
    container = container or bootstrap(settings)
    settings = container.settings()
    keys = container.api_keys
    keys()  # read now: a broken keys file or AUTH_REQUIRED without keys refuses to start
    mcp = mcp_endpoint(container)
    protected = Router(
        path="/",
        route_handlers=[
            AudioController,
            JobsController,
            SpeakersController,
            OpenAIModelsController,
            model_catalog,
            *([create_client_secret] if settings.realtime.enabled else []),
            *model_routers(admin_guard(keys)),
            mcp.route(guards=[]),
        ],
        guards=[api_key_guard(keys)],
    )
    app = Litestar(
        # Health, metrics and info stay open for load balancers, scrapers and clients that have no key yet.
        # The realtime socket checks keys itself: browsers send theirs as a WebSocket subprotocol.
        route_handlers=[
            protected,
            health,
            metrics,
            info,
            *([realtime_session] if settings.realtime.enabled else []),
            *(call_routes() if settings.realtime.enabled and settings.realtime.webrtc else []),
            *(webui_routes() if settings.webui.enabled else []),
        ],
        dependencies=dependencies(container),
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error_handler,
            HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
        },
        lifespan=[lifespan(container, mcp)],
        request_max_body_size=settings.max_upload_size_bytes + FORM_OVERHEAD_BYTES,
        type_encoders={np.generic: lambda v: v.item()},
        openapi_config=OpenAPIConfig(title="WhisperX API Server", version="0.1.0"),
        logging_config=None,
        debug=False,
    )
    # Outside Litestar's router, so unknown paths (404) and every error also get an id and a log line.
    app.asgi_handler = RequestLogMiddleware(container.metrics)(app.asgi_handler)
    app.state.admission = container.admission  # the server's signal handler drains through it
    return app


def app_from_env() -> Litestar:
    """Entry point for uvicorn's --factory."""
    return create_app(bootstrap())
