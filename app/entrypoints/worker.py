"""`whisperx-api-server worker`: a Celery job worker (JOBS__BACKEND=celery).

It loads the pipeline once, as the API does at start-up, then serves jobs one at a time.
"""

from __future__ import annotations

import os
import socket
import uuid

import structlog

from app.adapters.jobs.celery_app import celery_app, register_job_task, run_worker
from app.config.settings import SettingsError
from app.container import Application
from app.entrypoints.bootstrap import bootstrap, start_housekeeping, warm_up

logger = structlog.get_logger(__name__)


def serve_jobs(container: Application) -> None:
    settings = container.settings()
    if not container.jobs.has_workers():
        raise SettingsError("`whisperx-api-server worker` needs JOBS__BACKEND=celery (and JOBS__REDIS_URL).")
    warm_up(container)  # the same start-up as the API: default model, VAD, diarizer
    app = celery_app(settings.jobs.redis_url, settings.jobs.visibility_timeout_seconds)
    register_job_task(app, container.jobs.runner().run, container.jobs.store(), settings.jobs.heartbeat_seconds)
    name = f"wxas-{os.getpid()}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    logger.info("worker ready", name=name, redis=settings.jobs.redis_url.split("@")[-1])
    registry = container.jobs.workers()
    # Callbacks of the jobs it ends, idle models, and a heartbeat so /info can count live workers.
    stop_housekeeping = start_housekeeping(container, also=lambda: registry.beat(name))
    try:
        run_worker(app, name)
    finally:
        stop_housekeeping()


def main() -> int:
    serve_jobs(bootstrap())
    return 0
