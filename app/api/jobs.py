"""Async jobs over HTTP: status, status events, result in any format, cancel/discard."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get
from litestar.di import NamedDependency
from litestar.response import Stream

from app.adapters.jobs.envelope import JobView, job_view
from app.api.errors import error_response
from app.api.params import AudioRequest, response_format_or_default
from app.api.schemas import JobAccepted
from app.api.services import Services
from app.domain.jobs import Job

EVENT_POLL_SECONDS = 0.25  # status changes are read from the job store, so every replica can serve them


def owner(request: Request) -> str:
    return request.state.owner


async def _submit(audio_request: AudioRequest, services: Services, request: Request) -> Job:
    data = audio_request.file.read()
    return await anyio.to_thread.run_sync(lambda: services.jobs.submit(
        owner(request), data, audio_request.options, audio_request.render, audio_request.response_format,
        audio_request.callback_url))


async def submit(audio_request: AudioRequest, services: Services, request: Request) -> Response[JobAccepted]:
    job = await _submit(audio_request, services, request)
    view = job_view(job)
    return Response(JobAccepted(id=job.id, status=view.status, status_url=view.status_url, result_url=view.result_url),
                    status_code=202, headers={"Location": view.status_url})


async def run_as_job(audio_request: AudioRequest, services: Services, request: Request) -> Response[bytes | str]:
    """A synchronous request when workers do the inference (JOBS__BACKEND=celery): enqueue it and
    answer when the job ends, as if it had run here."""
    job = await _submit(audio_request, services, request)
    while not job.status.terminal:
        await anyio.sleep(EVENT_POLL_SECONDS)
        job = await _get(services, job.id, owner(request))
    if job.error is not None:
        error = job.error
        return error_response(error.status, error.message, param=error.param, code=error.code)
    _, transcript = await anyio.to_thread.run_sync(services.jobs.result, job.id, owner(request))
    await anyio.to_thread.run_sync(services.jobs.delete, job.id, owner(request))  # nobody will fetch it again
    formatter = services.formatters[audio_request.response_format]
    return Response(formatter.render(transcript, audio_request.render), media_type=formatter.media_type)


class JobsController(Controller):
    path = "/v1/audio/transcriptions/{job_id:str}"
    tags = ["jobs"]

    @get("/", operation_id="getTranscriptionJob")
    async def status(self, job_id: str, request: Request, services: NamedDependency[Services]) -> JobView:
        return job_view(await _get(services, job_id, owner(request)))

    @get("/events", operation_id="getTranscriptionJobEvents")
    async def events(self, job_id: str, request: Request, services: NamedDependency[Services]) -> Stream:
        first = await _get(services, job_id, owner(request))  # 404 before the stream starts

        async def changes() -> AsyncIterator[bytes]:
            job, sent = first, None
            while True:
                view = job_view(job)
                if view != sent:
                    yield b"data: " + msgspec.json.encode(view) + b"\n\n"
                    sent = view
                if job.status.terminal:
                    return
                await anyio.sleep(EVENT_POLL_SECONDS)
                job = await _get(services, job_id, owner(request))

        return Stream(changes(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @get("/result", operation_id="getTranscriptionJobResult")
    async def result(self, job_id: str, request: Request, services: NamedDependency[Services],
                     response_format: str | None = None) -> Response[bytes | str]:
        job, transcript = await anyio.to_thread.run_sync(services.jobs.result, job_id, owner(request))
        chosen = response_format_or_default(response_format or job.response_format, services.settings,
                                            services.formatters)
        formatter = services.formatters[chosen]
        return Response(formatter.render(transcript, job.render), media_type=formatter.media_type)

    @delete("/", status_code=200, operation_id="deleteTranscriptionJob")
    async def cancel(self, job_id: str, request: Request, services: NamedDependency[Services]) -> JobView:
        job = await anyio.to_thread.run_sync(services.jobs.delete, job_id, owner(request))
        return job_view(job)


async def _get(services: Services, job_id: str, job_owner: str) -> Job:
    return await anyio.to_thread.run_sync(services.jobs.get, job_id, job_owner)
