"""JobService's and JobRunner's rules on the SQLite store, with a dispatcher that only records."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest

from app.adapters.jobs.local import LocalJobDispatcher
from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.domain.errors import InvalidAudio, JobNotFound, JobQueueUnavailable, JobQuotaExceeded, JobStillRunning
from app.domain.models import JobStatus, RenderOptions, TranscriptionOptions
from app.domain.pipeline import TranscriptionPipeline
from app.services.jobs import JobRunner, JobService
from app.services.requests import RequestTracker
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
    store, dispatcher, clock, transcriber = (
        SqliteJobStore(tmp_path / "jobs.sqlite3"),
        RecordingDispatcher(),
        Clock(),
        FakeTranscriber(),
    )
    pipeline = TranscriptionPipeline(FakeDecoder(), transcriber, [FakeAligner()], FakeDiarizer(), FakeVoicePrinter())
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
    jobs.store.transition(
        job.id, {JobStatus.QUEUED}, status=JobStatus.RUNNING, updated_at=jobs.clock.now, increment_attempts=True
    )
    with pytest.raises(JobStillRunning):
        jobs.runner.run(job.id, stale_after=10)
    jobs.clock.now += 11  # no heartbeat for longer than stale_after: the worker died
    finished = jobs.runner.run(job.id, stale_after=10)
    assert finished.status is JobStatus.SUCCEEDED and finished.attempts == 2


def test_a_job_that_keeps_killing_workers_ends_failed(jobs):
    job = submit(jobs)
    for _ in range(2):  # two starts that never finished
        jobs.store.transition(
            job.id, {JobStatus.QUEUED, JobStatus.RUNNING}, status=JobStatus.RUNNING, increment_attempts=True
        )
    failed = jobs.runner.run(job.id)
    assert failed.status is JobStatus.FAILED and failed.error.code == "job_attempts_exceeded"
    assert jobs.transcriber.calls == [] and jobs.store.audio(job.id) is None


def test_a_failed_job_keeps_the_errors_own_status_and_type(jobs):
    job = submit(jobs, audio=b"not audio")
    failed = jobs.runner.run(job.id)
    expected = InvalidAudio("x")
    assert failed.status is JobStatus.FAILED
    assert (failed.error.status, failed.error.type, failed.error.code, failed.error.param) == (
        400,
        "invalid_request_error",
        expected.code,
        "file",
    )


def test_other_owners_and_expired_jobs_are_not_found(jobs):
    job = submit(jobs)
    with pytest.raises(JobNotFound):
        jobs.service.get(job.id, "mallory")
    jobs.runner.run(job.id)
    jobs.clock.now += 61
    with pytest.raises(JobNotFound):
        jobs.service.get(job.id, "alice")
    assert jobs.service.expire() == 1


def test_expiry_counts_from_the_jobs_end_not_its_submission(jobs):
    job = submit(jobs)
    jobs.clock.now += 3600  # queued (or running) far past the result TTL
    assert jobs.service.expire() == 0
    assert jobs.runner.run(job.id).status is JobStatus.SUCCEEDED
    jobs.clock.now += 59
    assert jobs.service.expire() == 0 and jobs.service.result(job.id, "alice")[1].text
    jobs.clock.now += 2
    assert jobs.service.expire() == 1


def test_a_result_that_cannot_be_stored_ends_the_job_failed(jobs, monkeypatch):
    job = submit(jobs)

    def disk_full(job_id, transcript):
        raise OSError("database or disk is full")

    monkeypatch.setattr(jobs.store, "put_result", disk_full)
    failed = jobs.runner.run(job.id)
    assert failed.status is JobStatus.FAILED and failed.error.code == "result_not_stored"
    assert jobs.service.get(job.id, "alice").status is JobStatus.FAILED


def test_one_key_cannot_fill_the_queue(tmp_path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    service = JobService(
        store,
        RecordingDispatcher(),
        NoCallbacks(),
        result_ttl_seconds=60,
        max_unfinished=10,
        max_unfinished_per_owner=2,
        clock=Clock(),
    )
    options = TranscriptionOptions(model="base")
    for _ in range(2):
        service.submit("alice", b"2.0", options, RenderOptions(), "json")
    with pytest.raises(JobQuotaExceeded) as refused:
        service.submit("alice", b"2.0", options, RenderOptions(), "json")
    assert refused.value.status == 429 and refused.value.retry_after
    assert service.submit("bob", b"2.0", options, RenderOptions(), "json").owner == "bob"  # others still get in


class BrokenBroker(RecordingDispatcher):
    def dispatch(self, job_id: str) -> None:
        raise ConnectionError("broker down")


def test_a_job_the_broker_refuses_is_failed_at_once_and_frees_the_quota(tmp_path):
    store, clock = SqliteJobStore(tmp_path / "jobs.sqlite3"), Clock()
    service = JobService(
        store, BrokenBroker(), NoCallbacks(), result_ttl_seconds=60, max_unfinished_per_owner=1, clock=clock
    )
    for _ in range(2):  # the second would be over the quota if the first were still queued
        with pytest.raises(JobQueueUnavailable):
            service.submit("alice", b"2.0", TranscriptionOptions(model="base"), RenderOptions(), "json")
    assert store.count_unfinished("alice") == 0
    clock.now += 61
    assert service.expire() == 2  # failed, and forgotten like any ended job


def test_a_followed_request_a_restart_cut_short_expires_like_any_other(tmp_path):
    store, clock = SqliteJobStore(tmp_path / "jobs.sqlite3"), Clock()
    tracker = RequestTracker(store, ttl_seconds=60, max_entries=10, clock=clock)
    tracker.start("req-1", "alice", TranscriptionOptions(model="base"), RenderOptions(), "json")
    dispatcher = LocalJobDispatcher(
        run_job=lambda job_id: None, store=store, run_in_slot=None, failed_request_ttl_seconds=60, clock=clock
    )
    dispatcher.recover()  # the next process finds it still running
    failed = store.get("req-1")
    assert failed.status is JobStatus.FAILED and failed.error.code == "server_restarted"
    clock.now += 61
    assert store.delete_expired(clock.now) == 1 and store.get("req-1") is None


def test_a_job_running_when_the_server_stops_does_not_lose_an_attempt(jobs):
    job = submit(jobs)
    started = []

    async def run_in_slot(work):
        jobs.runner.store.transition(job.id, {JobStatus.QUEUED}, status=JobStatus.RUNNING, increment_attempts=True)
        started.append(job.id)
        await anyio.sleep_forever()  # a long job: the server stops first

    dispatcher = LocalJobDispatcher(run_job=jobs.runner.run, store=jobs.store, run_in_slot=run_in_slot)
    dispatcher.dispatch(job.id)

    async def serve_then_stop() -> None:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(dispatcher.run_here)
            while not started:
                await anyio.sleep(0.01)
            tasks.cancel_scope.cancel()

    anyio.run(serve_then_stop)
    handed_back = jobs.store.get(job.id)
    assert handed_back.status is JobStatus.QUEUED and handed_back.attempts == 0
    assert dispatcher.recover() == 1  # and the next start runs it
