"""Async jobs: the 202 answer, the job view and the callback envelope."""

from __future__ import annotations

import msgspec

from app.domain.models import Job
from app.schemas.errors import OpenAIError

JOBS_PATH = "/v1/audio/transcriptions"


class JobAccepted(msgspec.Struct, kw_only=True):
    id: str
    object: str = "transcription.job"
    status: str
    status_url: str
    result_url: str


class JobView(msgspec.Struct, kw_only=True, omit_defaults=False):
    id: str
    object: str = "transcription.job"
    status: str
    stage: str | None = None
    progress: float = 0.0
    task: str
    response_format: str
    created_at: float
    updated_at: float
    expires_at: float | None = None
    attempts: int = 0
    error: OpenAIError | None = None
    status_url: str
    result_url: str


class JobEnvelope(JobView, kw_only=True):
    """The callback body: the job and, when it succeeded, its result in the requested format
    (a JSON object for the JSON formats, a string for text, srt, vtt and aud)."""

    result: object | None = None


def job_view(job: Job) -> JobView:
    error = (
        OpenAIError(message=job.error.message, type=job.error.type, param=job.error.param, code=job.error.code)
        if job.error
        else None
    )
    return JobView(
        id=job.id,
        status=job.status.value,
        stage=job.stage,
        progress=round(job.progress, 4),
        task=job.options.task.value,
        response_format=job.response_format,
        created_at=job.created_at,
        updated_at=job.updated_at,
        expires_at=job.expires_at,
        attempts=job.attempts,
        error=error,
        status_url=f"{JOBS_PATH}/{job.id}",
        result_url=f"{JOBS_PATH}/{job.id}/result",
    )
