"""A job as the API shows it (GET …/{id}) and as its callback carries it (plus the result)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from app.domain.jobs import Job
from app.domain.ports import Formatter, JobStore

JOBS_PATH = "/v1/audio/transcriptions"


class JobErrorView(msgspec.Struct, kw_only=True):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


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
    error: JobErrorView | None = None
    status_url: str
    result_url: str


class JobEnvelope(JobView, kw_only=True):
    """The callback body: the job and, when it succeeded, its result in the requested format
    (a JSON object for the JSON formats, a string for text, srt, vtt and aud)."""

    result: object | None = None


def job_view(job: Job) -> JobView:
    error = JobErrorView(message=job.error.message, type=job.error.type, param=job.error.param,
                         code=job.error.code) if job.error else None
    return JobView(id=job.id, status=job.status.value, stage=job.stage, progress=round(job.progress, 4),
                   task=job.options.task.value, response_format=job.response_format, created_at=job.created_at,
                   updated_at=job.updated_at, expires_at=job.expires_at, attempts=job.attempts, error=error,
                   status_url=f"{JOBS_PATH}/{job.id}", result_url=f"{JOBS_PATH}/{job.id}/result")


class JobEnvelopeRenderer:
    def __init__(self, store: JobStore, formatters: Mapping[str, Formatter]) -> None:
        self.store = store
        self.formatters = formatters

    def render(self, job: Job) -> bytes:
        view = job_view(job)
        result: object | None = None
        transcript = self.store.result(job.id)
        if transcript is not None:
            formatter = self.formatters[job.response_format]
            body = formatter.render(transcript, job.render)
            result = msgspec.json.decode(body) if formatter.media_type == "application/json" else (
                body.decode() if isinstance(body, bytes) else body)
        return msgspec.json.encode(JobEnvelope(**msgspec.structs.asdict(view), result=result))
