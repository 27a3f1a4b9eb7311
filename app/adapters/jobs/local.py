"""The `local` job backend: jobs run in this process, one at a time, on the server's own pipeline."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import structlog

from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.domain.models import JobStatus

logger = structlog.get_logger(__name__)


class LocalJobDispatcher:
    """Runs dispatched jobs one at a time on a worker thread of their own, beside synchronous
    requests (so a long job never blocks the queue of short ones)."""

    def __init__(self, run_job: Callable[[str], object], store: SqliteJobStore) -> None:
        self.run_job = run_job  # JobRunner.run
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job")

    def dispatch(self, job_id: str) -> None:
        self._executor.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            self.run_job(job_id)
        except Exception:  # noqa: BLE001 - the job is already marked failed; keep the worker alive
            logger.exception("job failed", job_id=job_id)

    def recover(self) -> int:
        """Re-queue what a previous process left unfinished (its upload is still stored)."""
        count = 0
        for job in self.store.unfinished():
            if job.status is JobStatus.RUNNING:
                self.store.transition(job.id, {JobStatus.RUNNING}, status=JobStatus.QUEUED, stage=None)
            self.dispatch(job.id)
            count += 1
        return count

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
