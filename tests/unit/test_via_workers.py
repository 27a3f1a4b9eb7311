"""Synchronous requests when workers do the inference (JOBS__BACKEND=celery), with no worker running."""

from __future__ import annotations

import io

import anyio
import pytest

from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.domain.errors import JobTimedOut
from app.domain.models import JobStatus, RenderOptions, TranscriptionOptions
from app.domain.pipeline import TranscriptionPipeline
from app.services.admission import Admission
from app.services.executions import ViaWorkers
from app.services.jobs import JobRunner, JobService
from app.services.requests import RequestTracker
from app.services.transcription import AudioRequest, Caller
from tests.fakes import (
    Clock,
    FakeAligner,
    FakeDecoder,
    FakeDiarizer,
    FakeTranscriber,
    FakeVoicePrinter,
    NoCallbacks,
    RecordingDispatcher,
)


def test_a_request_no_worker_takes_times_out_with_504_and_leaves_no_job(tmp_path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    jobs = JobService(store, RecordingDispatcher(), NoCallbacks(), result_ttl_seconds=60)
    execution = ViaWorkers(
        jobs,
        Admission(anyio.CapacityLimiter(1), 0),
        poll_seconds=0.05,
        timeout_seconds=0.3,
        tracker=RequestTracker(store, ttl_seconds=60, max_entries=10),
    )
    request = AudioRequest(io.BytesIO(b"2.0"), TranscriptionOptions(model="base"), RenderOptions(), "json")
    with pytest.raises(JobTimedOut) as error:
        anyio.run(execution.execute, request, Caller(owner="alice", disconnected=anyio.sleep_forever))
    assert error.value.status == 504 and error.value.error_type == "server_error"
    assert execution.admission.admitted == 0
    [job_id] = jobs.dispatcher.dispatched
    assert store.get(job_id).status is JobStatus.CANCELLED  # no worker will start it after the answer


class InlineWorker(RecordingDispatcher):
    """A worker that runs each job as soon as it is dispatched."""

    runner: JobRunner

    def dispatch(self, job_id: str) -> None:
        super().dispatch(job_id)
        self.runner.run(job_id)


def test_followed_requests_run_by_workers_keep_the_results_bounds_not_a_jobs(tmp_path):
    store, clock, worker = SqliteJobStore(tmp_path / "jobs.sqlite3"), Clock(), InlineWorker()
    pipeline = TranscriptionPipeline(
        FakeDecoder(), FakeTranscriber(), [FakeAligner()], FakeDiarizer(), FakeVoicePrinter()
    )
    worker.runner = JobRunner(store, NoCallbacks(), pipeline, result_ttl_seconds=24 * 3600, max_attempts=2, clock=clock)
    jobs = JobService(store, worker, NoCallbacks(), result_ttl_seconds=24 * 3600, clock=clock)
    execution = ViaWorkers(
        jobs,
        Admission(anyio.CapacityLimiter(1), 0),
        poll_seconds=0.01,
        timeout_seconds=5,
        tracker=RequestTracker(store, ttl_seconds=60, max_entries=2, clock=clock),
    )
    for request_id in ("req-1", "req-2", "req-3"):  # as a proxy that adds an X-Request-ID to everything
        request = AudioRequest(io.BytesIO(b"2.0"), TranscriptionOptions(model="base"), RenderOptions(), "json")
        anyio.run(
            execution.execute, request, Caller(owner="alice", disconnected=anyio.sleep_forever, request_id=request_id)
        )
    assert store.get("req-1") is None  # RESULTS__MAX_ENTRIES: the oldest went
    kept = store.get("req-3")
    assert kept.status is JobStatus.SUCCEEDED and kept.expires_at == clock.now + 60  # RESULTS__TTL_SECONDS, not 24 h
