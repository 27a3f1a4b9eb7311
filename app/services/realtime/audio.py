"""A session's audio: the samples not yet transcribed, with the VAD probability of every frame.

Positions are session samples (16 kHz, counted from the session's start), so a turn keeps its place
while older audio is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

import numpy as np

from app.domain.audio import SAMPLE_RATE
from app.domain.live import VAD_FRAME_SAMPLES

SPEECH_PROBABILITY = 0.5  # a VAD frame this likely to be speech counts as speech


class SessionAudio:
    def __init__(self, max_seconds: float) -> None:
        self.samples = np.zeros(0, dtype=np.float32)
        self.start = 0  # session sample of samples[0]
        self.received = 0  # session samples received so far
        # Every VAD frame the buffer may hold: a decoder that lags behind the audio still finds the
        # quietest cut among the frames of its window, not only among the newest ones.
        self._probabilities: deque[float] = deque(maxlen=int(max_seconds * SAMPLE_RATE / VAD_FRAME_SAMPLES) + 1)

    def held_seconds(self) -> float:
        """Audio received and not dropped yet."""
        return (self.received - self.start) / SAMPLE_RATE

    def append(self, samples: np.ndarray, probabilities: list[float]) -> None:
        self.samples = np.concatenate([self.samples, samples])
        self.received += len(samples)
        self._probabilities.extend(probabilities)

    def between(self, start: int, end: int) -> np.ndarray:
        return self.samples[start - self.start : end - self.start]

    def drop_before(self, keep: int) -> None:
        """Forget the audio before session sample `keep` (nothing needs it any more)."""
        if keep > self.start:
            self.samples = self.samples[keep - self.start :].copy()
            self.start = keep

    def speech_share(self, first: int, last: int) -> float:
        """The share of the VAD frames starting between session samples `first` and `last` (excluded)
        that hold speech."""
        heard = [probability for sample, probability in self._frames(first, last) if sample < last]
        return sum(p >= SPEECH_PROBABILITY for p in heard) / len(heard) if heard else 0.0

    def quietest_frame(self, first: int, last: int) -> int:
        """The start of the least speech-like VAD frame between session samples `first` and `last`
        (`last` when no frame there is known)."""
        best, best_probability = last, 2.0
        for sample, probability in self._frames(first, last):
            if probability < best_probability:
                best, best_probability = sample, probability
        return best

    def _frames(self, first: int, last: int) -> Iterator[tuple[int, float]]:
        """(start sample, speech probability) of the known VAD frames starting from `first` to `last`
        (both included), newest first: the walk back stops at `first`."""
        frames_seen = self.received // VAD_FRAME_SAMPLES
        for back, probability in enumerate(reversed(self._probabilities)):
            sample = (frames_seen - 1 - back) * VAD_FRAME_SAMPLES
            if sample < first:
                return
            if sample <= last:
                yield sample, probability
