"""GET /info: version, mode, limits, queue and worker state, formats and stages — open, like the
health check, so a client (and the web page) can adapt before it has a key."""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version

import anyio
from litestar import get
from litestar.di import NamedDependency

from app.api.models import Stages
from app.api.transcriptions import Formatters
from app.config.api_keys import ApiKeys
from app.config.settings import Settings
from app.domain.ports.jobs import WorkerRegistry
from app.schemas.info import JobsInfo, QueueInfo, ServerInfo, StageInfo
from app.services.admission import Admission, UploadGate
from app.services.jobs import JobService

STARTED = time.monotonic()


def server_version() -> str:
    try:
        return version("whisperx-api-server")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


@get("/info", tags=["health"], operation_id="getServerInfo")
async def info(
    settings: NamedDependency[Settings],
    admission: NamedDependency[Admission],
    uploads: NamedDependency[UploadGate],
    jobs: NamedDependency[JobService],
    workers: NamedDependency[WorkerRegistry],
    distributed: NamedDependency[bool],
    stages: NamedDependency[Stages],
    formatters: NamedDependency[Formatters],
    api_keys: NamedDependency[ApiKeys],
) -> ServerInfo:
    unfinished = await anyio.to_thread.run_sync(jobs.store.count_unfinished)
    live = len(await anyio.to_thread.run_sync(workers.live)) if distributed else None
    return ServerInfo(
        version=server_version(),
        mode="distributed" if distributed else "local",
        uptime_seconds=round(time.monotonic() - STARTED, 1),
        auth_required=api_keys.enabled,
        max_upload_size_bytes=settings.max_upload_size_bytes,
        max_audio_seconds=settings.max_audio_seconds,
        response_formats=sorted(formatters),
        stages={name: StageInfo(backend=stage.backend, default_model=stage.default) for name, stage in stages.items()},
        queue=QueueInfo(
            running=admission.running,
            waiting=admission.waiting,
            max_concurrent_transcriptions=int(admission.limiter.total_tokens),
            max_queued_requests=admission.max_queued,
            uploads_receiving=uploads.receiving,
            max_concurrent_uploads=uploads.max_concurrent,
        ),
        jobs=JobsInfo(
            unfinished=unfinished,
            max_unfinished=jobs.max_unfinished,
            max_unfinished_per_key=jobs.max_unfinished_per_owner,
            live_workers=live,
        ),
    )
