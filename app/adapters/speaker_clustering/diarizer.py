"""A diarizer that needs no hub: bundled pyannote segmentation + CAM++ voices + clustering."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from app.adapters.audio import float_samples
from app.adapters.speaker_clustering.clustering import cluster, cross_talk
from app.adapters.speaker_clustering.local_speakers import CELL_SECONDS, SegmentationModel
from app.domain.audio import SAMPLE_RATE
from app.domain.models import Audio, Diarization, SpeakerTurn, TranscriptionOptions, VoicePrint

MAX_EMBED_SECONDS = 60.0  # a voice print needs far less; bounds the cost on long recordings
STRETCH_SECONDS = 10.0  # a voice print is the mean of its speech's prints, this long each


class SpeakerEncoder(Protocol):
    """A speaker-embedding model (CamPlusPlusEncoder): L2-normalised voices of 16 kHz float audio."""

    model_name: str

    def warm_up(self) -> None: ...

    def unload(self) -> None: ...

    def embed_many(self, pieces: list[np.ndarray]) -> np.ndarray: ...


class EncoderVoicePrinter:
    """The VoicePrinter port: one encoder's voice prints of whole recordings or of their stretches."""

    def __init__(self, encoder: SpeakerEncoder) -> None:
        self.encoder = encoder
        self.model = encoder.model_name
        self._lock = threading.Lock()

    def voice_print(self, audio: Audio, spans: Sequence[tuple[float, float]] | None = None) -> VoicePrint:
        """The length-weighted mean of the prints of the speech's stretches (up to STRETCH_SECONDS each,
        MAX_EMBED_SECONDS in all): one stretch with cross-talk or noise moves it less than one print of
        everything would."""
        pieces = _stretches(audio.samples, spans if spans is not None else [(0.0, audio.duration)])
        if not pieces:
            pieces = [audio.samples[:0]]
        with self._lock:
            vectors = self.encoder.embed_many([float_samples(piece) for piece in pieces])
        weights = np.array([max(piece.shape[0], 1) for piece in pieces], dtype=np.float64)
        return _normalised((vectors * weights[:, None]).sum(axis=0))

    def voice_prints(self, audio: Audio, spans: Sequence[tuple[float, float]]) -> list[VoicePrint]:
        samples = float_samples(audio.samples)
        pieces = [samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] for start, end in spans]
        if not pieces:
            return []
        with self._lock:
            vectors = self.encoder.embed_many(pieces)
        return [_normalised(vector) for vector in vectors]


def _normalised(vector: np.ndarray) -> VoicePrint:
    return tuple(float(x) for x in vector / max(float(np.linalg.norm(vector)), 1e-12))


def _stretches(samples: np.ndarray, spans: Sequence[tuple[float, float]]) -> list[np.ndarray]:
    """The spans' audio, joined in order into pieces of at most STRETCH_SECONDS, MAX_EMBED_SECONDS in all."""
    most, left = int(STRETCH_SECONDS * SAMPLE_RATE), int(MAX_EMBED_SECONDS * SAMPLE_RATE)
    pieces: list[np.ndarray] = []
    current: list[np.ndarray] = []
    size = 0
    for start, end in spans:
        span = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)][:left]
        left -= span.shape[0]
        while span.shape[0]:
            taken = span[: most - size]
            current.append(taken)
            size += taken.shape[0]
            span = span[taken.shape[0] :]
            if size == most:
                pieces.append(np.concatenate(current))
                current, size = [], 0
        if left <= 0:
            break
    if current:
        pieces.append(np.concatenate(current))
    return pieces


class SpeakerClusteringDiarizer:
    """Backend `speaker_clustering`: works offline with models shipped inside installed packages."""

    name = "speaker_clustering"

    def __init__(self, segmentation: SegmentationModel, encoder: SpeakerEncoder) -> None:
        self.segmentation = segmentation
        self.encoder = encoder
        self._lock = threading.Lock()  # the models are shared; one diarization at a time

    def check(self, options: TranscriptionOptions) -> None:
        """Every option is honoured."""

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization:
        samples = float_samples(audio.samples)
        with self._lock:
            return self._diarize(samples, audio.duration, options)

    def _diarize(self, samples: np.ndarray, duration: float, options: TranscriptionOptions) -> Diarization:
        local = self.segmentation.local_speakers(samples, SAMPLE_RATE)
        cell = int(CELL_SECONDS * SAMPLE_RATE)

        def embed(stretches: list[np.ndarray]) -> np.ndarray:
            limit = int(MAX_EMBED_SECONDS / CELL_SECONDS)
            return self.encoder.embed_many(
                [np.concatenate([samples[c * cell : (c + 1) * cell] for c in cells[:limit]]) for cells in stretches]
            )

        labels = cluster(local, embed, options.min_speakers, options.max_speakers)
        turns = _turns(labels, cross_talk(local, labels), duration)
        exclusive = _turns(labels, np.full_like(labels, -1), duration)
        names = {raw: f"SPEAKER_{i:02d}" for i, raw in enumerate(dict.fromkeys(t[2] for t in turns))}
        return Diarization(
            turns=tuple(SpeakerTurn(start, end, names[raw]) for start, end, raw in turns),
            exclusive=tuple(SpeakerTurn(start, end, names[raw]) for start, end, raw in exclusive),
        )


def _turns(labels: np.ndarray, talked_over_by: np.ndarray, duration: float) -> list[tuple[float, float, int]]:
    """Each speaker's runs of cells, where they speak alone or over someone: turns may overlap."""
    turns: list[tuple[float, float, int]] = []
    for speaker in np.unique(labels[labels >= 0]):
        speaking = np.concatenate([[False], (labels == speaker) | (talked_over_by == speaker), [False]])
        edges = np.flatnonzero(speaking[1:] != speaking[:-1])
        for start, end in zip(edges[::2], edges[1::2]):
            # Plain floats: the turns are stored with job results, and msgspec encodes no numpy scalars.
            turns.append(
                (
                    round(float(start) * CELL_SECONDS, 3),
                    round(min(float(end) * CELL_SECONDS, duration), 3),
                    int(speaker),
                )
            )
    return sorted(turns)
