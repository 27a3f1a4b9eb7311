"""Synchronous requests when workers do the inference (JOBS__BACKEND=celery), with no worker running."""

from __future__ import annotations

import io

import anyio
import pytest

from app.adapters.jobs.sqlite_store import SqliteJobStore
from app.domain.errors import JobTimedOut
from app.domain.models import JobStatus, RenderOptions, TranscriptionOptions
from app.services.admission import Admission
from app.services.jobs import JobService
from app.services.transcription import AudioRequest, Caller, ViaWorkers
from tests.fakes import NoCallbacks, RecordingDispatcher


def test_a_request_no_worker_takes_times_out_with_504_and_leaves_no_job(tmp_path):
    store = SqliteJobStore(tmp_path / "jobs.sqlite3")
    jobs = JobService(store, RecordingDispatcher(), NoCallbacks(), result_ttl_seconds=60)
    execution = ViaWorkers(jobs, Admission(anyio.CapacityLimiter(1), 0), poll_seconds=0.05, timeout_seconds=0.3)
    request = AudioRequest(io.BytesIO(b"2.0"), TranscriptionOptions(model="base"), RenderOptions(), "json")
    with pytest.raises(JobTimedOut) as error:
        anyio.run(execution.execute, request, Caller(owner="alice", disconnected=anyio.sleep_forever))
    assert error.value.status == 504 and error.value.error_type == "server_error"
    assert execution.admission.admitted == 0
    [job_id] = jobs.dispatcher.dispatched
    assert store.get(job_id).status is JobStatus.CANCELLED  # no worker will start it after the answer
