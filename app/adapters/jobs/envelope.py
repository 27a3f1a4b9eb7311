"""The callback body: the job as GET …/{id} shows it, plus its result in the requested format."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from app.domain.models import Job
from app.domain.ports.jobs import JobStore
from app.domain.ports.rendering import Formatter
from app.schemas.jobs import JobEnvelope, job_view


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
            result = (
                msgspec.json.decode(body)
                if formatter.media_type == "application/json"
                else (body.decode() if isinstance(body, bytes) else body)
            )
        return msgspec.json.encode(JobEnvelope(**msgspec.structs.asdict(view), result=result))
