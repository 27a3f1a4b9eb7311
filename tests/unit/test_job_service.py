"""JobService's and JobRunner's rules on the SQLite store, with a dispatcher that only records."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.domain.errors import InvalidAudio, JobNotFound, JobStillRunning
from app.domain.models import JobStatus, RenderOptions, TranscriptionOptions
from app.domain.pipeline import TranscriptionPipeline
from app.services.jobs import JobRunner, JobService
from tests.fakes import Clock, FakeAligner, FakeDecoder, FakeDiarizer, FakeTranscriber, NoCallbacks, RecordingDispatcher


@dataclass
class Jobs:
    service: JobService
    runner: JobRunner
    store: SqliteJobStore
    dispatcher: RecordingDispatcher
    transcriber: FakeTranscriber
    clock: Clock


@pytest.fixture
def jobs(tmp_path) -> Jobs:
    store, dispatcher, clock, transcriber = SqliteJobStore(tmp_path / "jobs.sqlite3"), RecordingDispatcher(), Clock(), FakeTranscriber()
    pipeline = TranscriptionPipeline(FakeDecoder(), transcriber, [FakeAligner()], FakeDiarizer())
    service = JobService(store, dispatcher, NoCallbacks(), result_ttl_seconds=60, clock=clock)
    runner = JobRunner(store, NoCallbacks(), pipeline, result_ttl_seconds=60, max_attempts=2, clock=clock)
    return Jobs(service, runner, store, dispatcher, transcriber, clock)


def submit(jobs: Jobs, audio: bytes = b"2.0"):
    return jobs.service.submit("alice", audio, TranscriptionOptions(model="base"), RenderOptions(), "json")


def test_a_job_runs_once_even_if_delivered_twice(jobs):
    job = submit(jobs)
    assert jobs.dispatcher.dispatched == [job.id]
    assert jobs.runner.run(job.id).status is JobStatus.SUCCEEDED
    assert jobs.runner.run(job.id) is None  # a second delivery finds nothing to do
    assert len(jobs.transcriber.calls) == 1


def test_a_live_workers_job_is_not_taken_over_but_a_silent_ones_is(jobs):
    job = submit(jobs)
    jobs.store.transition(job.id, {JobStatus.QUEUED}, status=JobStatus.RUNNING, updated_at=jobs.clock.now,
                          increment_attempts=True)
    with pytest.raises(JobStillRunning):
        jobs.runner.run(job.id, stale_after=10)
    jobs.clock.now += 11  # no heartbeat for longer than stale_after: the worker died
    finished = jobs.runner.run(job.id, stale_after=10)
    assert finished.status is JobStatus.SUCCEEDED and finished.attempts == 2


def test_a_job_that_keeps_killing_workers_ends_failed(jobs):
    job = submit(jobs)
    for _ in range(2):  # two starts that never finished
        jobs.store.transition(job.id, {JobStatus.QUEUED, JobStatus.RUNNING}, status=JobStatus.RUNNING,
                              increment_attempts=True)
    failed = jobs.runner.run(job.id)
    assert failed.status is JobStatus.FAILED and failed.error.code == "job_attempts_exceeded"
    assert jobs.transcriber.calls == [] and jobs.store.audio(job.id) is None


def test_a_failed_job_keeps_the_errors_own_status_and_type(jobs):
    job = submit(jobs, audio=b"not audio")
    failed = jobs.runner.run(job.id)
    expected = InvalidAudio("x")
    assert failed.status is JobStatus.FAILED
    assert (failed.error.status, failed.error.type, failed.error.code, failed.error.param) == (
        400, "invalid_request_error", expected.code, "file")


def test_other_owners_and_expired_jobs_are_not_found(jobs):
    job = submit(jobs)
    with pytest.raises(JobNotFound):
        jobs.service.get(job.id, "mallory")
    jobs.clock.now += 61
    with pytest.raises(JobNotFound):
        jobs.service.get(job.id, "alice")
    assert jobs.service.expire() == 1
