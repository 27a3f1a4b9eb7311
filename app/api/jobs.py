"""Async jobs — and synchronous requests sent with their own X-Request-ID — over HTTP: status,
status events, result in any format, cancel/discard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from litestar import Controller, Request, Response, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from app.api.sse import sse_response
from app.api.transcriptions import Formatters
from app.domain.errors import InvalidRequest
from app.schemas.jobs import JobView, job_view
from app.services.audio_requests import AudioRequestParser
from app.services.jobs import JobService

EVENT_POLL_SECONDS = 0.25  # status changes are read from the job store, so every replica can serve them


class JobsController(Controller):
    path = "/v1/audio/transcriptions/{job_id:str}"
    tags = ["jobs"]

    @get("/", operation_id="getTranscriptionJob")
    async def status(self, job_id: FromPath[str], request: Request, jobs: NamedDependency[JobService]) -> JobView:
        return await _view(jobs, job_id, request.state.owner)

    @get("/status", operation_id="getTranscriptionStatus")
    async def status_by_suffix(
        self, job_id: FromPath[str], request: Request, jobs: NamedDependency[JobService]
    ) -> JobView:
        """The same as GET …/{id}: the original server's spelling, for jobs and followed requests alike."""
        return await _view(jobs, job_id, request.state.owner)

    @get("/events", operation_id="getTranscriptionJobEvents")
    async def events(self, job_id: FromPath[str], request: Request, jobs: NamedDependency[JobService]) -> Stream:
        owner = request.state.owner
        first = await anyio.to_thread.run_sync(jobs.get, job_id, owner)  # 404 before the stream starts

        async def changes() -> AsyncIterator[JobView]:
            job, sent = first, None
            while True:
                view = job_view(job)
                if view != sent:
                    yield view
                    sent = view
                if job.status.terminal:
                    return
                await anyio.sleep(EVENT_POLL_SECONDS)
                job = await anyio.to_thread.run_sync(jobs.get, job_id, owner)

        return sse_response(changes())

    @get("/result", operation_id="getTranscriptionJobResult")
    async def result(
        self,
        job_id: FromPath[str],
        request: Request,
        jobs: NamedDependency[JobService],
        parser: NamedDependency[AudioRequestParser],
        formatters: NamedDependency[Formatters],
        response_format: FromQuery[str | None] = None,
    ) -> Response[bytes | str]:
        job, transcript = await anyio.to_thread.run_sync(jobs.result, job_id, request.state.owner)
        formatter = formatters[parser.response_format(response_format or job.response_format)]
        if formatter.needs_diarization and transcript.diarizer is None:
            raise InvalidRequest(
                "This job was not diarized, so it has no speakers to show: create it with "
                "diarize=true or a speaker format.",
                param="response_format",
            )
        return Response(formatter.render(transcript, job.render), media_type=formatter.media_type)

    @delete("/", status_code=200, operation_id="deleteTranscriptionJob")
    async def cancel(self, job_id: FromPath[str], request: Request, jobs: NamedDependency[JobService]) -> JobView:
        return job_view(await anyio.to_thread.run_sync(jobs.delete, job_id, request.state.owner))


async def _view(jobs: JobService, job_id: str, owner: str) -> JobView:
    return job_view(await anyio.to_thread.run_sync(jobs.get, job_id, owner))
