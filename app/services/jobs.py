"""Asynchronous transcription jobs: submit now, poll or get called back later.

`JobService` holds what API clients may do (submit, see their own jobs, fetch, cancel) and
`JobRunner` what a worker does with a job (run it once, to an end). Where jobs are kept
(`JobStore`), how they reach a worker (`JobDispatcher`) and how callbacks are delivered
(`JobNotifier`) are ports, so the same rules run in-process (SQLite + a thread) and across
machines (Redis + Celery workers).
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from typing import Any

import structlog

from app.domain.errors import (
    DomainError,
    InvalidRequest,
    JobNotFinished,
    JobNotFound,
    JobQueueFull,
    JobQueueUnavailable,
    JobQuotaExceeded,
    JobStillRunning,
)
from app.domain.models import Job, JobError, JobStatus, RenderOptions, Transcript, TranscriptionOptions
from app.domain.pipeline import TranscriptionPipeline
from app.domain.ports.jobs import JobDispatcher, JobNotifier, JobStore

logger = structlog.get_logger(__name__)


def job_error(exc: DomainError) -> JobError:
    """A domain error as the OpenAI error object a failed job keeps."""
    return JobError(message=exc.message, type=exc.error_type, param=exc.param, code=exc.code, status=exc.status)


class JobService:
    def __init__(
        self,
        store: JobStore,
        dispatcher: JobDispatcher,
        notifier: JobNotifier,
        result_ttl_seconds: float,
        max_unfinished: int = 1000,
        max_unfinished_per_owner: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.notifier = notifier
        self.result_ttl_seconds = result_ttl_seconds
        self.max_unfinished = max_unfinished  # queued + running jobs; beyond it submissions get 429
        self.max_unfinished_per_owner = max_unfinished_per_owner
        self.clock = clock

    def submit(
        self,
        owner: str,
        audio: bytes,
        options: TranscriptionOptions,
        render: RenderOptions,
        response_format: str,
        callback_url: str | None = None,
        job_id: str | None = None,
    ) -> Job:
        """`job_id`: a synchronous request's own X-Request-ID (distributed mode), if no job has it yet."""
        if not audio:
            raise InvalidRequest("The file is empty.", param="file")
        if callback_url is not None:
            self.notifier.check(callback_url)
        if self.store.count_unfinished() >= self.max_unfinished:
            raise JobQueueFull(self.max_unfinished)
        if self.store.count_unfinished(owner) >= self.max_unfinished_per_owner:
            raise JobQuotaExceeded(self.max_unfinished_per_owner)
        now = self.clock()
        # No expiry until the job ends: its result then lives result_ttl_seconds (JobRunner._finish).
        if job_id is None or self.store.get(job_id) is not None:
            job_id = f"job_{uuid.uuid4().hex}"
        job = Job(
            id=job_id,
            owner=owner,
            status=JobStatus.QUEUED,
            options=options,
            render=render,
            response_format=response_format,
            created_at=now,
            updated_at=now,
            callback_url=callback_url,
        )
        self.store.create(job, audio)
        try:
            self.dispatcher.dispatch(job.id)
        except Exception:
            logger.exception("job could not be dispatched", job_id=job.id)
            self.store.transition(
                job.id,
                {JobStatus.QUEUED},
                status=JobStatus.FAILED,
                updated_at=self.clock(),
                expires_at=self.clock() + self.result_ttl_seconds,
                error=job_error(JobQueueUnavailable()),
            )
            self.store.drop_audio(job.id)
            raise JobQueueUnavailable() from None
        return job

    def get(self, job_id: str, owner: str) -> Job:
        job = self.store.get(job_id)
        if job is None or job.owner != owner or self._expired(job):
            raise JobNotFound(job_id)
        return job

    def result(self, job_id: str, owner: str) -> tuple[Job, Transcript]:
        job = self.get(job_id, owner)
        transcript = self.store.result(job_id) if job.status is JobStatus.SUCCEEDED else None
        if transcript is None:
            raise JobNotFinished(job.id, job.status.value, job.error.message if job.error else None)
        return job, transcript

    def delete(self, job_id: str, owner: str) -> Job:
        """Cancel a queued job, or discard a finished one. A running job cannot be interrupted."""
        job = self.get(job_id, owner)
        if job.status is JobStatus.RUNNING:
            raise InvalidRequest(
                f"Job '{job_id}' is running and cannot be cancelled; delete it once it ends.", param="id"
            )
        if job.status is JobStatus.QUEUED:
            cancelled = self.store.transition(
                job_id, {JobStatus.QUEUED}, status=JobStatus.CANCELLED, updated_at=self.clock()
            )
            if cancelled is not None:
                self.store.drop_audio(job_id)
                return cancelled
            return self.delete(job_id, owner)  # a worker took it meanwhile: answer for its new state
        self.store.delete(job_id)
        return job

    def expire(self) -> int:
        """Forget every job past its expiry; returns how many."""
        return self.store.delete_expired(self.clock())

    def recover(self) -> int:
        """Jobs a previous process of this server left behind run again."""
        return self.dispatcher.recover()

    def _expired(self, job: Job) -> bool:
        return job.expires_at is not None and job.expires_at < self.clock()


class JobRunner:
    """What a worker does with a job: runs it once on its pipeline and records how it ended."""

    def __init__(
        self,
        store: JobStore,
        notifier: JobNotifier,
        pipeline: TranscriptionPipeline,
        result_ttl_seconds: float,
        max_attempts: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.pipeline = pipeline
        self.result_ttl_seconds = result_ttl_seconds
        self.max_attempts = max_attempts
        self.clock = clock

    def run(self, job_id: str, stale_after: float | None = None) -> Job | None:
        """Run one queued job to its end. Returns None when there is nothing to do (cancelled,
        expired, or already finished by another delivery).

        A job already running is taken over only if its worker has been silent for `stale_after`
        seconds (it died); otherwise JobStillRunning tells the caller to try again later.
        """
        current = self.store.get(job_id)
        if (
            current is not None
            and current.status is JobStatus.RUNNING
            and stale_after is not None
            and self.clock() - current.updated_at < stale_after
        ):
            raise JobStillRunning(job_id)
        job = self.store.transition(
            job_id,
            {JobStatus.QUEUED, JobStatus.RUNNING},
            status=JobStatus.RUNNING,
            stage="decode",
            updated_at=self.clock(),
            increment_attempts=True,
        )
        if job is None:
            return None
        if job.attempts > self.max_attempts:
            return self._finish(
                job_id,
                JobStatus.FAILED,
                error=JobError(
                    f"The job was started {job.attempts - 1} times and its worker never finished it.",
                    code="job_attempts_exceeded",
                ),
            )
        audio = self.store.audio(job_id)
        if audio is None:
            return self._finish(
                job_id, JobStatus.FAILED, error=JobError("The job's upload is gone.", code="upload_missing")
            )

        def on_stage(stage: str) -> None:
            self.store.update(job_id, stage=stage, updated_at=self.clock())

        def on_progress(progress: float) -> None:
            self.store.update(job_id, progress=progress, updated_at=self.clock())

        try:
            result = self.pipeline.run(io.BytesIO(audio), job.options, on_stage=on_stage, on_progress=on_progress)
        except DomainError as exc:
            return self._finish(job_id, JobStatus.FAILED, error=job_error(exc))
        except Exception:
            # A job must end; the worker logs the traceback.
            self._finish(
                job_id,
                JobStatus.FAILED,
                error=JobError("The server had an error while processing the job.", code="internal_error"),
            )
            raise
        try:
            self.store.put_result(job_id, result.transcript)
        except Exception as exc:
            logger.exception("job result could not be stored", job_id=job_id)
            return self._finish(
                job_id,
                JobStatus.FAILED,
                error=JobError(
                    f"The job ran, but its result could not be stored ({type(exc).__name__}).", code="result_not_stored"
                ),
            )
        return self._finish(job_id, JobStatus.SUCCEEDED, progress=1.0)

    def _finish(self, job_id: str, status: JobStatus, **changes: Any) -> Job | None:
        now = self.clock()
        job = self.store.transition(
            job_id,
            {JobStatus.RUNNING},
            status=status,
            stage=None,
            updated_at=now,
            expires_at=now + self.result_ttl_seconds,
            **changes,
        )
        if job is None:
            return None
        self.store.drop_audio(job_id)
        if job.callback_url:
            self.notifier.notify(job)
        return job
