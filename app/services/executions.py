"""How each request mode runs (app/services/transcription.py picks one by the request's mode):
`sync` in this process (InProcess) or on Celery workers (ViaWorkers), `async` as a job (AsJob),
`stream` as events while the text is decoded (Streamed)."""

from __future__ import annotations

import asyncio
import math
import threading
import weakref
from collections.abc import AsyncIterator, Callable

import anyio
import anyio.from_thread
import structlog
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from app.domain.errors import DomainError, InternalError, JobFailed, JobTimedOut
from app.domain.logprobs import segment_logprobs
from app.domain.models import (
    Job,
    Segment,
    TokenLogprob,
    TranscriptionResult,
)
from app.domain.pipeline import TranscriptionPipeline
from app.domain.ports.jobs import ResultObserver
from app.services.admission import Admission
from app.services.jobs import JobService
from app.services.requests import RequestTracker, TrackedRequest
from app.services.transcription import (
    Accepted,
    AudioRequest,
    Caller,
    Execution,
    ExecutionMode,
    Finished,
    SpeakerSegment,
    StreamEvent,
    StreamFailed,
    Streaming,
    TextDelta,
    TextDone,
)

logger = structlog.get_logger(__name__)
# How often a request waiting on a worker reads its job's state (any replica can serve it).
JOB_POLL_SECONDS = 0.25


class InProcess:
    """The result now, from this process's pipeline, in an inference slot."""

    def __init__(
        self, pipeline: TranscriptionPipeline, admission: Admission, observer: ResultObserver, tracker: RequestTracker
    ) -> None:
        self.pipeline = pipeline
        self.admission = admission
        self.observer = observer
        self.tracker = tracker

    async def execute(self, request: AudioRequest, caller: Caller) -> Finished:
        async with self.admission.slot():
            tracked = await self._follow(request, caller)
            try:
                # Decoding and inference block: a worker thread runs them, at most `limiter` at once.
                # A followed request can be fetched again later, so it runs on without its client.
                result = await self.admission.run_when_free(
                    caller.disconnected,
                    lambda: self.pipeline.run(
                        request.audio,
                        request.options,
                        on_stage=tracked.stage if tracked else None,
                        on_progress=tracked.progress if tracked else None,
                    ),
                    follow_client=tracked is None,
                )
            except BaseException as exc:
                if tracked is not None:
                    failure = exc if isinstance(exc, DomainError) else InternalError()
                    with anyio.CancelScope(shield=True):  # recorded even when the request was cancelled
                        await anyio.to_thread.run_sync(tracked.failed, failure)
                raise
        if tracked is not None:
            await anyio.to_thread.run_sync(tracked.succeeded, result.transcript)
        self.observer.observe_result(result)
        _log_result(result, request.response_format)
        return Finished(result.transcript, request.render, request.response_format)

    async def _follow(self, request: AudioRequest, caller: Caller) -> TrackedRequest | None:
        if caller.request_id is None:
            return None
        return await anyio.to_thread.run_sync(
            self.tracker.start,
            caller.request_id,
            caller.owner,
            request.options,
            request.render,
            request.response_format,
        )


class ViaWorkers:
    """The result now, computed by a job worker (JOBS__BACKEND=celery): enqueue, wait, answer as
    if it had run here."""

    def __init__(
        self,
        jobs: JobService,
        admission: Admission,
        tracker: RequestTracker,
        timeout_seconds: float,
        poll_seconds: float = JOB_POLL_SECONDS,
    ) -> None:
        self.jobs = jobs
        self.admission = admission
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.tracker = tracker

    async def execute(self, request: AudioRequest, caller: Caller) -> Finished:
        async with self.admission.slot():
            # With the client's X-Request-ID the job is kept under that id, to be followed and fetched again.
            job = await submit_job(self.jobs, request, caller, job_id=caller.request_id)
            followed = job.id == caller.request_id
            if followed:
                await anyio.to_thread.run_sync(self.tracker.adopt, job.id)
            with anyio.move_on_after(self.timeout_seconds):
                while not job.status.terminal:
                    await anyio.sleep(self.poll_seconds)
                    job = await anyio.to_thread.run_sync(self.jobs.get, job.id, caller.owner)
            if followed and job.status.terminal:
                await anyio.to_thread.run_sync(self.tracker.ended, job.id)
        if not job.status.terminal:
            await anyio.to_thread.run_sync(self._forget, job.id, caller.owner)
            raise JobTimedOut(self.timeout_seconds)
        if job.error is not None:
            error = job.error
            raise JobFailed(error.message, status=error.status, param=error.param, code=error.code)
        _, transcript = await anyio.to_thread.run_sync(self.jobs.result, job.id, caller.owner)
        if job.id != caller.request_id:
            await anyio.to_thread.run_sync(self.jobs.delete, job.id, caller.owner)  # nobody will fetch it again
        return Finished(transcript, request.render, request.response_format)

    def _forget(self, job_id: str, owner: str) -> None:
        """Nobody waits for it any more: cancel it if no worker took it (a running one just expires)."""
        try:
            self.jobs.delete(job_id, owner)
        except DomainError:
            pass


class AsJob:
    """`async=true`: store the upload as a job and answer at once."""

    def __init__(self, jobs: JobService) -> None:
        self.jobs = jobs

    async def execute(self, request: AudioRequest, caller: Caller) -> Accepted:
        return Accepted(await submit_job(self.jobs, request, caller))


async def submit_job(jobs: JobService, request: AudioRequest, caller: Caller, job_id: str | None = None) -> Job:
    def submit() -> Job:
        return jobs.submit(
            caller.owner,
            request.audio.read(),
            request.options,
            request.render,
            request.response_format,
            request.callback_url,
            job_id=job_id,
        )

    return await anyio.to_thread.run_sync(submit)


class Streamed:
    """`stream=true`: one admission slot and one inference slot cover decoding and the whole run, so
    no more streams hold decoded audio than there are inference slots."""

    def __init__(self, pipeline: TranscriptionPipeline, admission: Admission, observer: ResultObserver) -> None:
        self.pipeline = pipeline
        self.admission = admission
        self.observer = observer

    async def execute(self, request: AudioRequest, caller: Caller) -> Streaming:
        self.admission.admit()
        holder = object()  # the inference slot is held from decoding to the last event
        loop = asyncio.get_running_loop()

        def free_both() -> None:
            self.admission.free_slot(holder)
            self.admission.leave()

        release = _once(free_both)
        try:
            await self.admission.take_slot(caller.disconnected, holder)
        except BaseException:
            self.admission.leave()
            raise
        try:
            # Decode before answering, so an upload that is not audio still gets a plain 400.
            audio = await anyio.to_thread.run_sync(lambda: self.pipeline.decoder.decode(request.audio))
        except BaseException:
            release()
            raise
        send, receive = anyio.create_memory_object_stream[StreamEvent](max_buffer_size=math.inf)
        deltas: list[str] = []
        tokens: list[TokenLogprob] | None = [] if request.options.logprobs else None

        def delta_of(segment: Segment, speaker_segment: bool) -> TextDelta | None:
            text = segment.text.strip()
            if not text:
                return None
            delta = text if not deltas else " " + text
            deltas.append(delta)
            own = segment_logprobs(segment, " " if len(deltas) > 1 else "") if tokens is not None else None
            if own is not None and tokens is not None:
                tokens.extend(own)
            return TextDelta(delta, own, segment if speaker_segment else None)

        def on_segment(segment: Segment) -> None:  # called in the worker thread
            delta = delta_of(segment, speaker_segment=False)
            if delta is not None:
                anyio.from_thread.run_sync(send.send_nowait, delta)

        # A speaker format's text belongs to speaker segments, which only the whole recording's
        # diarization gives: its deltas follow the run, each with the segment it belongs to.
        live_text = None if request.shows_speakers else on_segment

        async def produce() -> None:
            async with send:
                try:
                    result = await anyio.to_thread.run_sync(
                        lambda: self.pipeline.run_audio(audio, request.options, on_segment=live_text)
                    )
                    self.observer.observe_result(result)
                    _log_result(result, request.response_format)
                    if request.shows_speakers:
                        for segment in result.transcript.segments:
                            delta = delta_of(segment, speaker_segment=True)
                            if delta is not None:
                                await send.send(delta)
                            await send.send(SpeakerSegment(segment))
                    await send.send(
                        TextDone(
                            "".join(deltas),
                            tuple(tokens) if tokens is not None else None,
                            result.transcript.spoken_languages,
                        )
                    )
                except DomainError as exc:
                    await send.send(StreamFailed(exc))
                except Exception:
                    logger.exception("stream failed")
                    await send.send(StreamFailed(None))
                finally:
                    release()

        async def events() -> AsyncIterator[StreamEvent]:
            async with anyio.create_task_group() as group:
                group.start_soon(produce)
                async with receive:
                    async for event in receive:
                        yield event

        body = events()
        # A client gone before the body was ever read leaves `produce` unstarted: free the slots (and
        # the channel) when the unused generator is collected, on the event loop that owns them.
        weakref.finalize(body, _abandon, loop, send, receive, release)
        return Streaming(body)


def _abandon(
    loop: asyncio.AbstractEventLoop,
    send: MemoryObjectSendStream[StreamEvent],
    receive: MemoryObjectReceiveStream[StreamEvent],
    release: Callable[[], None],
) -> None:
    send.close()
    receive.close()
    try:
        loop.call_soon_threadsafe(release)
    except RuntimeError:  # the loop is closed: nobody can be waiting for the slot any more
        release()


def executions_by_mode(
    pipeline: TranscriptionPipeline,
    admission: Admission,
    observer: ResultObserver,
    tracker: RequestTracker,
    jobs: JobService,
    job_workers: bool,
    worker_timeout_seconds: float,
) -> dict[str, Execution]:
    """How each ExecutionMode runs; synchronous requests run on the job workers where there are some
    (JOBS__BACKEND=celery), else here."""
    sync: Execution = (
        ViaWorkers(jobs, admission, tracker, worker_timeout_seconds)
        if job_workers
        else InProcess(pipeline, admission, observer, tracker)
    )
    return {
        ExecutionMode.SYNC.value: sync,
        ExecutionMode.ASYNC.value: AsJob(jobs),
        ExecutionMode.STREAM.value: Streamed(pipeline, admission, observer),
    }


def _once(action: Callable[[], None]) -> Callable[[], None]:
    done = threading.Lock()

    def run() -> None:
        if done.acquire(blocking=False):
            action()

    return run


def _log_result(result: TranscriptionResult, response_format: str) -> None:
    """Bind what this request did to its one log line (app/api/middleware.py writes it)."""
    transcript, timings = result.transcript, result.timings
    structlog.contextvars.bind_contextvars(
        task=transcript.task.value,
        model=transcript.model,
        language=transcript.language,
        audio_seconds=round(transcript.duration, 2),
        response_format=response_format,
        decode_s=round(timings.decode, 3),
        transcribe_s=round(timings.transcribe, 3),
        align_s=round(timings.align, 3),
        diarize_s=round(timings.diarize, 3),
        aligner=transcript.aligner,
    )
