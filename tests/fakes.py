"""Hand-written fakes for every port (cosmicpython style): they behave, they do not mock."""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, field, replace
from typing import BinaryIO

import numpy as np

from app.adapters.audio import float_samples
from app.domain.cancellation import checkpoint
from app.domain.errors import AlignmentUnavailable, AudioTooLong, InvalidAudio, ModelNotFound
from app.domain.models import (
    DEFAULT_MODEL_ALIASES,
    Audio,
    Diarization,
    Segment,
    SpeakerTurn,
    Transcript,
    TranscriptionOptions,
    Word,
)


class FakeDecoder:
    """Treats the upload's bytes as text: `b"1.5"` is 1.5 s of audio; anything else is invalid."""

    def decode(self, source: BinaryIO, max_seconds: float | None = None) -> Audio:
        raw = source.read()
        try:
            duration = float(raw.decode() or "x")
        except (UnicodeDecodeError, ValueError):
            raise InvalidAudio("The file could not be decoded as audio (fake).") from None
        if duration <= 0:
            raise InvalidAudio("The file contains no audio samples.")
        if max_seconds is not None and duration > max_seconds:
            raise AudioTooLong(max_seconds)
        return Audio(samples=None, duration=duration)


@dataclass
class FakeTranscriber:
    """Says `text` once per sentence, one second a sentence; records every call."""

    text: str = "Hello world. How are you?"
    language: str = "en"
    known_models: tuple[str, ...] = ("base", "tiny.en")
    default_model: str = "base"
    name: str = "fake"
    calls: list[TranscriptionOptions] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event | None = None  # when set by a test, transcribe waits for it, between "batches"
    between_segments: threading.Event | None = None  # when set by a test, waits after the first segment
    aligns_while_decoding: str | None = None  # set by a test: times words like that aligner, while decoding
    asked_to_time_words: list[str] = field(default_factory=list)  # languages it was asked about

    def times_words_like(self, aligner: str) -> bool:
        return aligner == self.aligns_while_decoding

    def transcribe(self, audio: Audio, options: TranscriptionOptions, on_segment=None, time_words=None) -> Transcript:
        self.calls.append(options)
        model = self.default_model if options.model in DEFAULT_MODEL_ALIASES else options.model
        if model not in self.known_models:
            raise ModelNotFound("model", model, self.known_models)
        self.started.set()
        if self.release is not None:
            for _ in range(3000):  # 30 s at most
                checkpoint()  # as the real transcriber does before each batch
                if self.release.wait(timeout=0.01):
                    break
        sentences = [s.strip() for s in re.findall(r"[^.?!]+[.?!]?", self.text) if s.strip()]
        segments = tuple(
            Segment(id=i, start=float(i), end=float(i) + 0.9, text=s, tokens=(100 + i, 200 + i), avg_logprob=-0.2)
            for i, s in enumerate(sentences)
        )
        language = options.language or self.language
        timed = time_words is not None and time_words(language)
        if time_words is not None:
            self.asked_to_time_words.append(language)
        if timed:
            segments = tuple(replace(s, words=evenly_timed(s)) for s in segments)
        for index, segment in enumerate(segments):
            if on_segment is not None:
                on_segment(segment)
            if index == 0 and self.between_segments is not None:
                self.between_segments.wait(timeout=30)  # lets a test see the first segment stream out alone
        return Transcript(
            task=options.task,
            language=language,
            duration=audio.duration,
            segments=segments,
            model=model,
            aligner=self.aligns_while_decoding if timed else None,
        )


@dataclass
class FakeAligner:
    """Spreads each segment's words evenly over it; `unavailable` languages raise."""

    name: str = "fake_aligner"
    unavailable: frozenset[str] = frozenset()
    calls: int = 0

    def can_align(self, language: str) -> bool:
        return language not in self.unavailable

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript:
        self.calls += 1
        if transcript.language in self.unavailable:
            raise AlignmentUnavailable(transcript.language, "no model (fake)")
        segments = tuple(replace(segment, words=evenly_timed(segment)) for segment in transcript.segments)
        return transcript.with_segments(segments, aligner=self.name)


def evenly_timed(segment: Segment) -> tuple[Word, ...]:
    """The segment's words spread evenly over it."""
    tokens = segment.text.split()
    step = (segment.end - segment.start) / len(tokens)
    return tuple(
        Word(word=w, start=round(segment.start + i * step, 3), end=round(segment.start + (i + 1) * step, 3), score=0.9)
        for i, w in enumerate(tokens)
    )


@dataclass
class FakeDiarizer:
    """Returns the turns it was given."""

    turns: tuple[SpeakerTurn, ...] = (SpeakerTurn(0.0, 1.0, "SPEAKER_00"), SpeakerTurn(1.0, 2.0, "SPEAKER_01"))
    name: str = "fake_diarizer"
    calls: list[TranscriptionOptions] = field(default_factory=list)

    def check(self, options: TranscriptionOptions) -> None:
        """Honours every option."""

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization:
        self.calls.append(options)
        return Diarization(turns=self.turns)


@dataclass
class FakeModelStore:
    known: tuple[str, ...] = ("base", "tiny.en")
    loaded_names: set[str] = field(default_factory=set)

    def available(self) -> list[str]:
        return sorted(self.known)

    def requestable(self) -> list[str]:
        return self.available()

    def loaded(self) -> list[str]:
        return sorted(self.loaded_names)

    def load(self, name: str) -> str:
        if name not in self.known:
            raise ModelNotFound("model", name, self.known)
        self.loaded_names.add(name)
        return name

    def unload(self, name: str) -> bool:
        if name in self.loaded_names:
            self.loaded_names.remove(name)
            return True
        return False

    def unload_idle(self) -> list[str]:
        return []


class RecordingDispatcher:
    """A JobDispatcher that only records what it was handed (the test runs the job itself)."""

    def __init__(self) -> None:
        self.dispatched: list[str] = []

    def dispatch(self, job_id: str) -> None:
        self.dispatched.append(job_id)

    def recover(self) -> int:
        return 0

    async def run_here(self) -> None:
        """The test runs the jobs itself."""


class NoCallbacks:
    """A JobNotifier for jobs submitted without `callback_url`: being asked to call back is a bug."""

    def check(self, url: str) -> None:
        pass

    def notify(self, job) -> None:
        raise AssertionError("no callback_url was given")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- live transcription (realtime sessions) ---------------------------------------------------------


class FakePcmStream:
    """Takes the bytes as 16 kHz PCM16 already (no resampling), keeping an odd byte for the next call."""

    def __init__(self) -> None:
        self._odd = b""

    def feed(self, data: bytes):
        import numpy as np

        data, self._odd = self._odd + data, b""
        if len(data) % 2:
            data, self._odd = data[:-1], data[-1:]
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768


def on_an_event_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class FakeSpeechStream:
    """A frame is speech (probability 1) when its mean level is above 0.1, else silence (0). Records,
    per call, whether it ran on an event loop's thread (it must not: the VAD is CPU work)."""

    def __init__(self, on_loop: list[bool] | None = None, sizes: list[int] | None = None) -> None:
        import numpy as np

        self._pending = np.zeros(0, dtype=np.float32)
        self.on_loop = on_loop if on_loop is not None else []
        self.sizes = sizes if sizes is not None else []

    def feed(self, samples) -> list[float]:
        import numpy as np

        self.on_loop.append(on_an_event_loop())
        self.sizes.append(len(samples))
        from app.domain.live import VAD_FRAME_SAMPLES

        audio = np.concatenate([self._pending, samples])
        whole = len(audio) // VAD_FRAME_SAMPLES * VAD_FRAME_SAMPLES
        self._pending = audio[whole:]
        frames = audio[:whole].reshape(-1, VAD_FRAME_SAMPLES)
        return [1.0 if float(np.abs(frame).mean()) > 0.1 else 0.0 for frame in frames]


@dataclass
class FakeLiveAudio:
    formats: list[str] = field(default_factory=list)
    vad_on_loop: list[bool] = field(default_factory=list)  # one entry per VAD call, of every session
    vad_sizes: list[int] = field(default_factory=list)  # the samples of each VAD call, of every session

    def pcm_stream(self, audio_format: str) -> FakePcmStream:
        self.formats.append(audio_format)
        return FakePcmStream()

    def speech_stream(self) -> FakeSpeechStream:
        return FakeSpeechStream(self.vad_on_loop, self.vad_sizes)


@dataclass
class FakeUtteranceTranscriber:
    """Hears `words_per_second` words of `script` per second of loud audio it is given, one token a
    word; continues after the forced prefix like the real decoder. `unsure_tail` makes the last word
    it hears differ between calls (as a word cut off by the end of the audio does)."""

    script: str = "one two three four five six seven eight nine ten eleven twelve"
    words_per_second: float = 2.0
    language: str = "en"
    known_models: tuple[str, ...] = (*sorted(DEFAULT_MODEL_ALIASES), "base")  # aliases mean the default model
    unsure_tail: bool = True
    fail_final: bool = False
    misheard: dict[str, str] = field(default_factory=dict)  # set by a test: what quick (live) decodings hear instead
    requests: list = field(default_factory=list)
    calls: int = 0
    release: threading.Event | None = None  # when set by a test, every decoding waits for it

    def check_model(self, model: str | None) -> None:
        if (model or "") not in self.known_models:
            raise ModelNotFound("model", model or "", list(self.known_models))

    def decode(self, audio: Audio, request):
        import numpy as np

        from app.domain.errors import InternalError
        from app.domain.live import Hypothesis

        self.calls += 1
        self.requests.append(request)
        if self.release is not None:
            self.release.wait(30)
        if request.final and self.fail_final:
            raise InternalError()
        loud = float((np.abs(float_samples(audio.samples)) > 0.1).sum()) / 16_000
        script = self.script.split()
        words = script[: int(loud * self.words_per_second)]
        tokens = [script.index(w) for w in words]
        if not request.final:  # the full beam hears right what a quick decoding may mishear
            tokens = [t + 500 if w in self.misheard else t for t, w in zip(tokens, words, strict=True)]
            words = [self.misheard.get(w, w) for w in words]
        if words and self.unsure_tail and not request.final:
            words[-1] = f"{words[-1]}{'?' * (self.calls % 3)}"  # the cut-off last word changes every time
            tokens[-1] = 1000 + self.calls
        pieces = [f" {w}" for w in words]
        prefix = len(request.prefix)
        return Hypothesis(
            tokens=tuple(tokens[prefix:]),
            pieces=tuple(pieces[prefix:]),
            whole=tuple(True for _ in pieces[prefix:]),
            language=request.language or self.language,
            logprobs=tuple(-0.1 for _ in pieces[prefix:]) if request.logprobs else (),
            token_bytes=tuple(p.encode() for p in pieces[prefix:]) if request.logprobs else (),
        )


# --- voices ---------------------------------------------------------------------------------------------


def voice(index: int, dimensions: int = 8) -> tuple[float, ...]:
    """A unit vector: voice `index` is orthogonal to every other voice."""
    return tuple(1.0 if i == index % dimensions else 0.0 for i in range(dimensions))


@dataclass
class FakeVoicePrinter:
    """A recording's voice is `voice(int(its duration))` (a reference of b"3.0" is voice 3); a stretch
    of a transcript has the voice `speakers` gives the time in its middle."""

    speakers: tuple[tuple[float, float, int], ...] = ((0.0, 1.0, 3), (1.0, 2.0, 4))  # start, end, voice
    calls: int = 0
    model: str = "fake-voices"
    by_level: bool = False  # set by a test: a live piece's voice is its speech's loudness in tenths (0.5: voice 5)

    def voice_print(self, audio: Audio, spans=None) -> tuple[float, ...]:
        self.calls += 1
        if spans is None:
            return voice(int(audio.duration))
        middle = sum((s + e) / 2 for s, e in spans) / len(spans)
        return next((voice(v) for s, e, v in self.speakers if s <= middle < e), voice(7))

    def voice_prints(self, audio: Audio, spans) -> list[tuple[float, ...]]:
        if not self.by_level:
            return [self.voice_print(audio, [span]) for span in spans]
        self.calls += 1
        levels = np.abs(float_samples(audio.samples))
        return [_blend(levels[int(s * 16_000) : int(e * 16_000)]) for s, e in spans]


def _blend(levels: np.ndarray) -> tuple[float, ...]:
    """The voices of a piece's speech (its loud samples' levels in tenths), mixed in proportion, as an
    encoder hears a piece two people speak in."""
    counts = np.bincount(np.round(levels[levels > 0.1] * 10).astype(int), minlength=8)[:8]
    mixed = counts / max(float(np.linalg.norm(counts)), 1e-12)
    return tuple(float(x) for x in mixed)


@dataclass
class Fakes:
    """The fake adapters a test container runs on; `decoder` None keeps the real PyAV decoder."""

    transcriber: FakeTranscriber = field(default_factory=FakeTranscriber)
    aligner: FakeAligner = field(default_factory=FakeAligner)
    diarizer: FakeDiarizer = field(default_factory=FakeDiarizer)
    models: dict[str, FakeModelStore] = field(
        default_factory=lambda: {
            "transcription": FakeModelStore(),
            "alignment": FakeModelStore(known=("en", "de")),
            "diarization": FakeModelStore(known=("pyannote/speaker-diarization-community-1",)),
        }
    )
    live_transcriber: FakeUtteranceTranscriber = field(default_factory=FakeUtteranceTranscriber)
    live_audio: FakeLiveAudio = field(default_factory=FakeLiveAudio)
    voice_printer: FakeVoicePrinter = field(default_factory=FakeVoicePrinter)
    decoder: object | None = field(default_factory=FakeDecoder)


def override_with(container, fakes: Fakes) -> contextlib.ExitStack:
    """The one set of provider overrides every test container gets (the pytest fixtures and the fake
    server process alike). Close the returned stack to undo them."""
    stack = contextlib.ExitStack()
    overrides = [
        (container.transcription.transcriber, fakes.transcriber),
        (container.alignment.aligners, [fakes.aligner]),
        (container.diarization.diarizer, fakes.diarizer),
        (container.transcription.models, fakes.models["transcription"]),
        (container.alignment.models, fakes.models["alignment"]),
        (container.diarization.models, fakes.models["diarization"]),
        (container.transcription.live_transcriber, fakes.live_transcriber),
        (container.live_audio, fakes.live_audio),
        (container.diarization.voice_printer, fakes.voice_printer),
    ]
    if fakes.decoder is not None:
        overrides.append((container.core.decoder, fakes.decoder))
    for provider, fake in overrides:
        stack.enter_context(provider.override(fake))
    return stack
