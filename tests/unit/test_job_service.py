"""JobService's rules on the SQLite store, with a dispatcher that only records."""

from __future__ import annotations

import pytest

from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.api.errors import status_of
from app.domain.jobs import JobService, JobStatus, JobStillRunning
from app.domain.models import RenderOptions, TranscriptionOptions
from app.domain.pipeline import TranscriptionPipeline
from tests.fakes import FakeAligner, FakeDecoder, FakeDiarizer, FakeTranscriber


class RecordingDispatcher:
    def __init__(self) -> None:
        self.dispatched: list[str] = []

    def dispatch(self, job_id: str) -> None:
        self.dispatched.append(job_id)


class NoCallbacks:
    def check(self, url: str) -> None:
        pass

    def notify(self, job) -> None:
        raise AssertionError("no callback_url was given")


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def service(tmp_path):
    return JobService(SqliteJobStore(tmp_path / "jobs.sqlite3"), RecordingDispatcher(), NoCallbacks(),
                      result_ttl_seconds=60, max_attempts=2, status_of=status_of, clock=Clock())


@pytest.fixture
def pipeline():
    return TranscriptionPipeline(FakeDecoder(), FakeTranscriber(), [FakeAligner()], FakeDiarizer())


def submit(service: JobService):
    return service.submit("alice", b"2.0", TranscriptionOptions(model="base"), RenderOptions(), "json")


def test_a_job_runs_once_even_if_delivered_twice(service, pipeline):
    job = submit(service)
    assert service.dispatcher.dispatched == [job.id]
    assert service.run(job.id, pipeline).status is JobStatus.SUCCEEDED
    assert service.run(job.id, pipeline) is None  # a second delivery finds nothing to do
    assert len(pipeline.transcriber.calls) == 1


def test_a_live_workers_job_is_not_taken_over_but_a_silent_ones_is(service, pipeline):
    job = submit(service)
    service.store.transition(job.id, {JobStatus.QUEUED}, status=JobStatus.RUNNING, updated_at=service.clock.now,
                             increment_attempts=True)
    with pytest.raises(JobStillRunning):
        service.run(job.id, pipeline, stale_after=10)
    service.clock.now += 11  # no heartbeat for longer than stale_after: the worker died
    finished = service.run(job.id, pipeline, stale_after=10)
    assert finished.status is JobStatus.SUCCEEDED and finished.attempts == 2


def test_a_job_that_keeps_killing_workers_ends_failed(service, pipeline):
    job = submit(service)
    for _ in range(2):  # two starts that never finished
        service.store.transition(job.id, {JobStatus.QUEUED, JobStatus.RUNNING}, status=JobStatus.RUNNING,
                                 increment_attempts=True)
    failed = service.run(job.id, pipeline)
    assert failed.status is JobStatus.FAILED and failed.error.code == "job_attempts_exceeded"
    assert pipeline.transcriber.calls == [] and service.store.audio(job.id) is None


def test_other_owners_and_expired_jobs_are_not_found(service, pipeline):
    from app.domain.jobs import JobNotFound

    job = submit(service)
    with pytest.raises(JobNotFound):
        service.get(job.id, "mallory")
    service.clock.now += 61
    with pytest.raises(JobNotFound):
        service.get(job.id, "alice")
    assert service.expire() == 1
