"""The application service: one parsed audio request in, one outcome out.

A request asks for one of three modes: the result now (`sync`), a job to follow (`async=true`)
or events as text is decoded (`stream=true`). How each mode runs is an `Execution` the
container picks from settings — `sync` runs in this process, or on Celery workers when
JOBS__BACKEND=celery — so this module never asks which backend is configured.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import BinaryIO, Protocol

import anyio
import anyio.from_thread
import structlog

from app.domain.errors import DomainError
from app.domain.models import (
    Job,
    RenderOptions,
    Segment,
    TokenLogprob,
    Transcript,
    TranscriptionOptions,
)
from app.domain.ports.audio import AudioFetcher
from app.services.admission import Admission, Disconnected, UploadGate
from app.services.speakers import SpeakerService

logger = structlog.get_logger(__name__)


class ExecutionMode(str, enum.Enum):
    SYNC = "sync"
    ASYNC = "async"
    STREAM = "stream"


@dataclass(frozen=True, slots=True)
class AudioRequest:
    """A transcription or translation request, parsed and validated (app/services/audio_requests.py)."""

    file: BinaryIO | None  # the upload's file, or a local file for the command line; None with audio_url
    options: TranscriptionOptions
    render: RenderOptions
    response_format: str
    shows_speakers: bool = False  # the response format labels speakers: a stream ends with speaker segments
    mode: ExecutionMode = ExecutionMode.SYNC
    callback_url: str | None = None
    audio_url: str | None = None  # fetched by the service before it runs the request
    known_speaker_names: tuple[str, ...] = ()  # resolved to voices by the service (options.known_speakers)
    known_speaker_references: tuple[bytes, ...] = ()  # one recording per name, or none: enrolled voices

    @property
    def audio(self) -> BinaryIO:
        """The recording to run. An execution runs after the service has fetched any `audio_url`."""
        if self.file is None:
            raise AssertionError("the request's audio_url was not fetched before it ran")
        return self.file


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent the request, how to tell that they hung up, and the X-Request-ID they chose (if any):
    a synchronous request with one can be followed and fetched again under that id."""

    owner: str
    disconnected: Disconnected
    request_id: str | None = None


# --- outcomes: what the controller renders ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finished:
    transcript: Transcript
    render: RenderOptions
    response_format: str


@dataclass(frozen=True, slots=True)
class Accepted:
    job: Job


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    logprobs: tuple[TokenLogprob, ...] | None = None  # with `include[]=logprobs`: its tokens, spelling `text`
    segment: Segment | None = None  # a speaker format's: the speaker segment the text belongs to


@dataclass(frozen=True, slots=True)
class SpeakerSegment:
    segment: Segment


@dataclass(frozen=True, slots=True)
class TextDone:
    text: str
    logprobs: tuple[TokenLogprob, ...] | None = None
    languages: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamFailed:
    error: DomainError | None  # None: our own failure, reported as a server error


StreamEvent = TextDelta | SpeakerSegment | TextDone | StreamFailed


@dataclass(frozen=True, slots=True)
class Streaming:
    """Deltas per decoded segment; speaker segments once diarized (when the format shows speakers);
    then the done text, which equals the joined deltas."""

    events: AsyncIterator[StreamEvent]


Outcome = Finished | Accepted | Streaming


class Execution(Protocol):
    async def execute(self, request: AudioRequest, caller: Caller) -> Outcome: ...


class TranscriptionService:
    def __init__(
        self,
        executions: Mapping[str, Execution],
        fetcher: AudioFetcher,
        uploads: UploadGate,
        speakers: SpeakerService,
        admission: Admission,
    ) -> None:
        self.executions = executions  # by ExecutionMode value
        self.fetcher = fetcher
        self.uploads = uploads
        self.speakers = speakers
        self.admission = admission

    async def handle(self, request: AudioRequest, caller: Caller) -> Outcome:
        execution = self.executions[request.mode.value]
        if request.known_speaker_names:
            # Voices, not recordings, travel on with the options (an async job stores them).
            known = await self.admission.run_admitted(
                caller.disconnected,
                lambda: self.speakers.known_speakers(
                    request.known_speaker_names, request.known_speaker_references, caller.owner
                ),
            )
            request = replace(
                request, options=replace(request.options, known_speakers=known), known_speaker_references=()
            )
        if request.audio_url is None:
            return await execution.execute(request, caller)
        # A download is an upload the server makes: it takes an upload slot and its time limits.
        url = request.audio_url
        file = await self.uploads.receive(lambda: anyio.to_thread.run_sync(self.fetcher.fetch, url))
        try:
            # Every execution has read the audio by the time it returns (a stream decodes first).
            return await execution.execute(replace(request, file=file, audio_url=None), caller)
        finally:
            file.close()
