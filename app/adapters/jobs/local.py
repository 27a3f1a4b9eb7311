"""The `local` job backend: jobs run in this process, one at a time, on the server's own pipeline,
each in an inference slot like any synchronous request (MAX_CONCURRENT_TRANSCRIPTIONS)."""

from __future__ import annotations

import functools
import queue
import time
from collections.abc import Awaitable, Callable

import anyio
import structlog

from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.domain.models import JobError, JobStatus

logger = structlog.get_logger(__name__)
# Runs blocking work in a worker thread once an inference slot is free (Admission.run_in_slot).
RunInSlot = Callable[[Callable[[], object]], Awaitable[object]]
POLL_SECONDS = 0.1  # how soon a dispatched job is noticed


class LocalJobDispatcher:
    """Dispatched job ids wait in a queue; `run_here` (the server's lifespan) takes them one at a
    time, so a long job never holds more than one slot and synchronous requests still get theirs."""

    def __init__(
        self,
        run_job: Callable[[str], object],
        store: SqliteJobStore,
        run_in_slot: RunInSlot,
        failed_request_ttl_seconds: float = 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.run_job = run_job  # JobRunner.run
        self.store = store
        self.run_in_slot = run_in_slot
        self.failed_request_ttl_seconds = failed_request_ttl_seconds  # RESULTS__TTL_SECONDS
        self.clock = clock
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()

    def dispatch(self, job_id: str) -> None:
        self._queue.put(job_id)

    def recover(self) -> int:
        """Re-queue what a previous process left unfinished (its upload is still stored)."""
        count = 0
        for job in self.store.unfinished():
            if job.is_tracked_request:  # its client's connection died with the process: it cannot resume
                now = self.clock()
                self.store.transition(
                    job.id,
                    {JobStatus.RUNNING},
                    status=JobStatus.FAILED,
                    stage=None,
                    updated_at=now,
                    expires_at=now + self.failed_request_ttl_seconds,
                    error=JobError("The server restarted while this request ran.", code="server_restarted", status=503),
                )
                continue
            if job.status is JobStatus.RUNNING:
                self.store.transition(job.id, {JobStatus.RUNNING}, status=JobStatus.QUEUED, stage=None)
            self.dispatch(job.id)
            count += 1
        return count

    async def run_here(self) -> None:
        """Run dispatched jobs until cancelled."""
        while True:
            try:
                job_id = self._queue.get_nowait()
            except queue.Empty:
                # Polled, not a blocking get in a thread: that thread would keep the process alive at exit.
                await anyio.sleep(POLL_SECONDS)
                continue
            try:
                await self.run_in_slot(functools.partial(self.run_job, job_id))
            except anyio.get_cancelled_exc_class():
                self._hand_back(job_id)
                raise
            except Exception:
                logger.exception("job failed", job_id=job_id)

    def _hand_back(self, job_id: str) -> None:
        """The server is stopping with this job running: it runs again on the next start, and this start
        does not count as one of its JOBS__MAX_ATTEMPTS (those are for jobs that kill their worker)."""
        job = self.store.get(job_id)
        if job is not None and job.status is JobStatus.RUNNING:
            self.store.transition(
                job_id, {JobStatus.RUNNING}, status=JobStatus.QUEUED, stage=None, attempts=max(0, job.attempts - 1)
            )
            logger.info("running job handed back for the next start", job_id=job_id)


class NoWorkers:
    """WorkerRegistry of the local backend: jobs run in the server, there are no worker processes."""

    def beat(self, name: str) -> None:
        pass

    def live(self) -> list[str]:
        return []
