"""Synchronous requests that can be followed: sent with the client's own X-Request-ID, a request's
stage, progress and result are kept in the job store under that id, so GET …/{id}/status, /events
and /result work for it as for an async job — from another connection, on any replica, for the
same API key only — until RESULTS__TTL_SECONDS after it ended."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog

from app.domain.errors import DomainError
from app.domain.models import Job, JobError, JobStatus, RenderOptions, Transcript, TranscriptionOptions
from app.domain.ports.jobs import JobStore
from app.services.jobs import job_error

logger = structlog.get_logger(__name__)


class RequestTracker:
    def __init__(
        self, store: JobStore, ttl_seconds: float, max_entries: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._mine: OrderedDict[str, None] = OrderedDict()  # ids this process stored, oldest first
        self._lock = threading.Lock()

    def start(
        self, request_id: str, owner: str, options: TranscriptionOptions, render: RenderOptions, response_format: str
    ) -> TrackedRequest | None:
        """Start following a request; None when its id is taken (never overwritten, never revealed)."""
        if self.store.get(request_id) is not None:
            return None
        self._make_room()
        now = self.clock()
        self.store.create(
            Job(
                id=request_id,
                owner=owner,
                status=JobStatus.RUNNING,
                options=options,
                render=render,
                response_format=response_format,
                created_at=now,
                updated_at=now,
                stage="decode",
                kind="request",
            ),
            b"",
        )
        with self._lock:
            self._mine[request_id] = None
        return TrackedRequest(self, request_id)

    def adopt(self, request_id: str) -> None:
        """A followed request that a job worker runs (JOBS__BACKEND=celery) counts against the same
        RESULTS__MAX_ENTRIES as one run here, so a proxy that sends an id with every request cannot fill
        the store."""
        self._make_room()
        with self._lock:
            self._mine[request_id] = None

    def ended(self, request_id: str) -> None:
        """Its result is kept RESULTS__TTL_SECONDS from now, as a request run here keeps it (not a job's TTL)."""
        self.store.transition(
            request_id, {s for s in JobStatus if s.terminal}, expires_at=self.clock() + self.ttl_seconds
        )

    def _make_room(self) -> None:
        with self._lock:
            excess = len(self._mine) + 1 - self.max_entries
            candidates = list(self._mine)
        for request_id in candidates:
            if excess <= 0:
                return
            job = self.store.get(request_id)
            if job is None or job.status.terminal:  # expired already, or finished: the oldest go first
                self.store.delete(request_id)
                with self._lock:
                    self._mine.pop(request_id, None)
                excess -= 1

    def _end(self, request_id: str, status: JobStatus, **changes: Any) -> None:
        now = self.clock()
        self.store.transition(
            request_id,
            {JobStatus.RUNNING},
            status=status,
            stage=None,
            updated_at=now,
            expires_at=now + self.ttl_seconds,
            **changes,
        )


class TrackedRequest:
    """What the pipeline reports about one followed request (called from its worker thread)."""

    def __init__(self, tracker: RequestTracker, request_id: str) -> None:
        self.tracker = tracker
        self.request_id = request_id

    def stage(self, stage: str) -> None:
        self.tracker.store.update(self.request_id, stage=stage, updated_at=self.tracker.clock())

    def progress(self, progress: float) -> None:
        self.tracker.store.update(self.request_id, progress=round(progress, 4), updated_at=self.tracker.clock())

    def succeeded(self, transcript: Transcript) -> None:
        try:
            self.tracker.store.put_result(self.request_id, transcript)
        except Exception:
            logger.exception("a followed request's result could not be stored", request_id=self.request_id)
            self.tracker._end(
                self.request_id,
                JobStatus.FAILED,
                error=JobError("The request's result could not be stored.", code="result_not_stored"),
            )
            return
        self.tracker._end(self.request_id, JobStatus.SUCCEEDED, progress=1.0)

    def failed(self, exc: DomainError) -> None:
        self.tracker._end(self.request_id, JobStatus.FAILED, error=job_error(exc))
