"""What a transcription is, independent of any engine or wire format."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

from app.domain.audio import SAMPLE_RATE

# OpenAI's only model name, and an empty one: both mean "the configured default model".
# OpenAI's transcription model names (what its clients and Realtime sessions send) mean the default model.
# The diarizing one also turns diarization on, with `diarized_json` as its natural format.
DIARIZE_MODEL_ALIASES = frozenset({"gpt-4o-transcribe-diarize"})
DEFAULT_MODEL_ALIASES = frozenset(
    {
        "",
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
        "gpt-transcribe",
        "gpt-live-transcribe",
        "gpt-realtime-whisper",
        *DIARIZE_MODEL_ALIASES,
    }
)


class Task(str, enum.Enum):
    TRANSCRIBE = "transcribe"
    TRANSLATE = "translate"


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded speech: 16 kHz mono samples (16-bit PCM from the decoder, float32 from live streams).

    `samples` is an array the domain never looks inside; only adapters read it.
    """

    samples: Any
    duration: float
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float
    score: float | None = None
    speaker: str | None = None


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One decoded token: its text (a character split over tokens belongs to the one completing it),
    its bytes, and the log probability the model gave it."""

    token: str
    bytes: tuple[int, ...]
    logprob: float


@dataclass(frozen=True, slots=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    seek: int = 0
    tokens: tuple[int, ...] = ()
    temperature: float = 0.0
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0
    words: tuple[Word, ...] = ()
    speaker: str | None = None
    token_logprobs: tuple[TokenLogprob, ...] = ()  # when asked for (`include[]=logprobs`), one per token


@dataclass(frozen=True, slots=True)
class Transcript:
    task: Task
    language: str
    duration: float
    segments: tuple[Segment, ...]
    model: str = ""
    aligner: str | None = None  # which aligner produced the word times, if any
    diarizer: str | None = None
    speaker_embeddings: dict[str, tuple[float, ...]] | None = None
    speaker_turns: tuple[SpeakerTurn, ...] | None = None  # the diarizer's own turns (may overlap), when diarized
    languages: tuple[str, ...] = ()  # every language detected with confidence, `language` first

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())

    @property
    def spoken_languages(self) -> tuple[str, ...]:
        """The languages to report (OpenAI's `languages`): those detected, else the one transcribed."""
        return self.languages or ((self.language,) if self.language else ())

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    def with_segments(self, segments: tuple[Segment, ...], **changes: Any) -> Transcript:
        return replace(self, segments=segments, **changes)


@dataclass(frozen=True, slots=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str


@dataclass(frozen=True, slots=True)
class Diarization:
    """Who spoke when, independent of any transcript. `turns` may overlap where people talk at once;
    `exclusive`, where the diarizer knows it, gives each moment to the one speaker heard most (as
    pyannote's exclusive diarization): words are assigned from that, so cross-talk moves no word."""

    turns: tuple[SpeakerTurn, ...]
    exclusive: tuple[SpeakerTurn, ...] | None = None

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({t.speaker for t in self.turns}))


@dataclass(frozen=True, slots=True)
class VadTuning:
    """How speech is found, per request (OpenAI's `chunking_strategy` server_vad); None: the server's."""

    threshold: float | None = None  # speech probability above which audio counts as speech
    speech_pad_ms: int | None = None  # audio kept before (and after) each stretch of speech
    min_silence_ms: int | None = None  # the silence that ends a stretch of speech


VoicePrint = tuple[float, ...]  # an L2-normalised speaker embedding; only prints of one model compare
# Registry entries written before prints recorded their model were made by resemblyzer.
UNRECORDED_VOICE_MODEL = "resemblyzer"


@dataclass(frozen=True, slots=True)
class KnownSpeaker:
    """A name and its voice: speech that sounds like it is labelled with the name."""

    name: str
    voice: VoicePrint


@dataclass(frozen=True, slots=True)
class ClientSecret:
    """An ephemeral key: who minted it, the realtime session configuration it opens, until when."""

    digest: str  # SHA-256 of the value, which is given out once and never stored
    owner: str  # the API key owner it acts for (registry, quotas)
    session: bytes  # the `session` object it was made with, as JSON: applied when its session opens
    expires_at: float


@dataclass(frozen=True, slots=True)
class SpeakerProfile:
    """A voice print kept in the speaker registry for one API key (never the enrolment audio)."""

    id: str
    owner: str
    name: str
    voice: VoicePrint
    created_at: float
    seconds: float  # how much speech the print was made from
    voice_model: str = UNRECORDED_VOICE_MODEL  # the speaker encoder that made `voice`


@dataclass(frozen=True, slots=True)
class TranscriptionOptions:
    """Everything a caller can ask of the pipeline, already validated."""

    model: str
    task: Task = Task.TRANSCRIBE
    language: str | None = None
    prompt: str | None = None
    temperature: float = 0.0
    hotwords: str | None = None
    languages: tuple[str, ...] = ()  # when set, detection picks among these (OpenAI's `languages[]`)
    logprobs: bool = False  # token log probabilities with the text (OpenAI's `include[]=logprobs`)
    suppress_numerals: bool = True
    word_timestamps: bool = False
    align: bool = True
    diarize: bool = False
    speaker_embeddings: bool = False
    min_speakers: int | None = None
    max_speakers: int | None = None
    chunk_size: int = 30
    batch_size: int = 8
    vad: VadTuning = VadTuning()
    known_speakers: tuple[KnownSpeaker, ...] = ()  # diarized speakers who sound like one of these get its name

    def __post_init__(self) -> None:
        if self.task is Task.TRANSLATE:  # its English text is not what the audio says: nothing to align it to
            object.__setattr__(self, "align", False)
            object.__setattr__(self, "word_timestamps", False)

    @property
    def wants_alignment(self) -> bool:
        return self.align or self.word_timestamps


@dataclass(frozen=True, slots=True)
class SubtitleRules:
    """How subtitle cues are made (app/domain/subtitles.py). `per_segment`: one cue per transcript
    segment, one line each, as Whisper made them."""

    max_line_width: int = 42
    max_line_count: int = 2
    min_seconds: float = 5 / 6
    max_seconds: float = 7.0
    max_chars_per_second: float = 20.0
    max_lag_seconds: float = 1.5  # how late a cue may start after its first word, so fast speech stays readable
    per_segment: bool = False


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """How a formatter should render a transcript."""

    word_timestamps: bool = False
    segment_timestamps: bool = True
    highlight_words: bool = False
    subtitles: SubtitleRules = SubtitleRules()
    logprobs: bool = False  # `json` shows the tokens' log probabilities


@dataclass(frozen=True, slots=True)
class StageTimings:
    decode: float = 0.0
    transcribe: float = 0.0
    align: float = 0.0
    diarize: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TranscriptionResult:
    transcript: Transcript
    timings: StageTimings


# --- async jobs -------------------------------------------------------------------------------


class JobStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobError:
    """OpenAI's error object, kept with a failed job."""

    message: str
    type: str = "server_error"
    param: str | None = None
    code: str | None = None
    status: int = 500  # the HTTP status a synchronous request would have got


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    owner: str  # the API client that submitted it; nobody else sees it
    status: JobStatus
    options: TranscriptionOptions
    render: RenderOptions
    response_format: str
    created_at: float
    updated_at: float
    stage: str | None = None  # decode | transcribe | align | diarize while running
    progress: float = 0.0  # 0..1 of the audio transcribed
    error: JobError | None = None
    callback_url: str | None = None
    attempts: int = 0  # worker starts; a job that keeps killing workers ends failed
    expires_at: float | None = None  # results and uploads are discarded after this
    # "job": submitted with async=true; "request": a synchronous request followed by its X-Request-ID
    kind: str = "job"

    @property
    def is_tracked_request(self) -> bool:
        return self.kind == "request"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One callback to send: kept in an outbox until the receiver took it, so a restart loses none."""

    id: str  # the webhook-id: the same on every attempt, so a receiver can drop a duplicate
    job_id: str
    url: str
    body: bytes
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
