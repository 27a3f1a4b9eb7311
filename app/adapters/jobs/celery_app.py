"""The `celery` job backend: API replicas enqueue, `whisperx-api-server worker` processes run jobs.

Redis is the broker and the job store (app/adapters/jobs/redis_store.py), so every API replica
sees every job's state and events. Tasks are acknowledged late and rejected when their worker is
lost, so a job whose worker is killed is delivered again; each worker runs one job at a time
(solo pool) on a pipeline it loaded once, which is one job per GPU when each worker gets its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import Celery

from app.domain.errors import JobStillRunning
from app.domain.ports.jobs import JobStore

TASK_NAME = "whisperx_api_server.run_job"
QUEUE = "whisperx-jobs"
STALE_HEARTBEATS = 4  # a running job silent for this many heartbeats lost its worker


def celery_app(redis_url: str, visibility_timeout: float) -> Celery:
    app = Celery("whisperx_api_server", broker=redis_url)
    app.conf.update(
        task_acks_late=True,  # a job is acknowledged when it ends, not when it starts...
        task_reject_on_worker_lost=True,  # ...so a killed worker's job goes back to the queue
        worker_prefetch_multiplier=1,  # a busy worker holds no second job hostage
        task_default_queue=QUEUE,
        broker_transport_options={"visibility_timeout": visibility_timeout},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    return app


class CeleryJobDispatcher:
    def __init__(self, redis_url: str, visibility_timeout: float) -> None:
        self.app = celery_app(redis_url, visibility_timeout)

    def dispatch(self, job_id: str) -> None:
        self.app.send_task(TASK_NAME, args=[job_id], queue=QUEUE)

    def recover(self) -> int:
        return 0  # the broker redelivers a lost worker's job by itself (late ack)

    async def run_here(self) -> None:
        """Jobs run in `whisperx-api-server worker` processes, never in the API's."""


@contextmanager
def heartbeat(store: JobStore, job_id: str, seconds: float) -> Iterator[None]:
    """Touch the running job every few seconds, so a redelivered copy knows its worker is alive."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(seconds):
            store.update(job_id, updated_at=time.time())

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def register_job_task(app: Celery, run_job: Callable[..., object], store: JobStore, heartbeat_seconds: float) -> None:
    """`run_job(job_id, stale_after=...)` is JobRunner.run on this worker's pipeline."""
    stale_after = STALE_HEARTBEATS * heartbeat_seconds

    @app.task(name=TASK_NAME, bind=True, max_retries=None)
    def run_job_task(task, job_id: str) -> None:
        with heartbeat(store, job_id, heartbeat_seconds):
            try:
                run_job(job_id, stale_after=stale_after)
            except JobStillRunning:
                raise task.retry(countdown=stale_after) from None


def run_worker(app: Celery, name: str) -> None:
    """Serve jobs one at a time until stopped (blocks)."""
    app.worker_main(
        [
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            QUEUE,
            "-n",
            name,
        ]
    )
