"""Who speaks in a live session whose model is `gpt-4o-transcribe-diarize`: each finished window of a
turn is printed piece by piece off the event loop (taking an inference slot, as every decoding does),
its pieces labelled by the session's SessionSpeakers (domain/live_speakers.py), and its text shared out
between the speakers as segments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import numpy as np
import numpy.typing as npt

from app.domain.audio import SAMPLE_RATE
from app.domain.live_speakers import PiecePrint, SessionSpeakers, piece_spans, texts_of
from app.domain.models import Audio, KnownSpeaker
from app.domain.ports.speakers import VoicePrinter
from app.services.realtime.audio import SessionAudio

MIN_SPEECH_SHARE = 0.5  # a piece is printed when at least this much of it is speech (VAD frames)


@dataclass(frozen=True, slots=True)
class LiveSegment:
    start: float  # seconds from the start of the item's audio
    end: float
    speaker: str
    text: str


class LiveSpeakers:
    def __init__(self, printer: VoicePrinter, limiter: anyio.CapacityLimiter) -> None:
        self.printer = printer
        self.limiter = limiter
        self.people = SessionSpeakers()

    def know(self, known: Sequence[KnownSpeaker]) -> None:
        """Name people after these voices from now on (the people heard so far are forgotten)."""
        self.people = SessionSpeakers(known)

    async def segments(
        self, audio: SessionAudio, item_start: int, start: int, end: int, text: str, joiner: str
    ) -> list[LiveSegment]:
        """The speakers of session samples `start`..`end` of a turn beginning at `item_start`, and
        `text` (what that audio said) shared out between them."""
        samples: npt.NDArray[np.float32] = audio.between(start, end)
        spans = [
            (first, last)
            for first, last in piece_spans(len(samples) / SAMPLE_RATE)
            if audio.speech_share(start + int(first * SAMPLE_RATE), start + int(last * SAMPLE_RATE)) >= MIN_SPEECH_SHARE
        ]
        if not spans or not text.strip():
            return []
        recording = Audio(samples=samples, duration=len(samples) / SAMPLE_RATE)
        prints = await anyio.to_thread.run_sync(self.printer.voice_prints, recording, spans, limiter=self.limiter)
        labelled = self.people.label_turn([PiecePrint(a, b, v) for (a, b), v in zip(spans, prints, strict=True)])
        offset = (start - item_start) / SAMPLE_RATE
        return [
            LiveSegment(round(offset + span.start, 3), round(offset + span.end, 3), span.speaker, said)
            for span, said in zip(labelled, texts_of(text, labelled, joiner), strict=True)
            if said
        ]
