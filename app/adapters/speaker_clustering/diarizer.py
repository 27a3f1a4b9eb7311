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
        samples, limit = audio.samples, int(MAX_EMBED_SECONDS * SAMPLE_RATE)
        if spans is not None:
            pieces, total = [], 0
            for start, end in spans:
                piece = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
                pieces.append(piece[: max(0, limit - total)])
                total += pieces[-1].shape[0]
            samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=samples.dtype)
        with self._lock:
            vector = self.encoder.embed_many([float_samples(samples[:limit])])[0]
        return tuple(float(x) for x in vector)


class SpeakerClusteringDiarizer:
    """Backend `speaker_clustering`: works offline with models shipped inside installed packages."""

    name = "speaker_clustering"

    def __init__(self, segmentation: SegmentationModel, encoder: SpeakerEncoder) -> None:
        self.segmentation = segmentation
        self.encoder = encoder
        self._lock = threading.Lock()  # the models are shared; one diarization at a time

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization:
        samples = float_samples(audio.samples)
        with self._lock:
            return self._diarize(samples, audio.duration, options)

    def _diarize(self, samples: np.ndarray, duration: float, options: TranscriptionOptions) -> Diarization:
        local = self.segmentation.local_speakers(samples, SAMPLE_RATE)
        cell = int(CELL_SECONDS * SAMPLE_RATE)

        def embed(stretches: list[np.ndarray]) -> np.ndarray:
            limit = int(MAX_EMBED_SECONDS / CELL_SECONDS)
            return self.encoder.embed_many([np.concatenate([samples[c * cell : (c + 1) * cell] for c in cells[:limit]])
                                            for cells in stretches])

        labels = cluster(local, embed, options.min_speakers, options.max_speakers)
        turns = _turns(labels, cross_talk(local, labels), duration)
        exclusive = _turns(labels, np.full_like(labels, -1), duration)
        names = {raw: f"SPEAKER_{i:02d}" for i, raw in enumerate(dict.fromkeys(t[2] for t in turns))}
        return Diarization(turns=tuple(SpeakerTurn(start, end, names[raw]) for start, end, raw in turns),
                           exclusive=tuple(SpeakerTurn(start, end, names[raw]) for start, end, raw in exclusive))


def _turns(labels: np.ndarray, talked_over_by: np.ndarray, duration: float) -> list[tuple[float, float, int]]:
    """Each speaker's runs of cells, where they speak alone or over someone: turns may overlap."""
    turns: list[tuple[float, float, int]] = []
    for speaker in np.unique(labels[labels >= 0]):
        speaking = np.concatenate([[False], (labels == speaker) | (talked_over_by == speaker), [False]])
        edges = np.flatnonzero(speaking[1:] != speaking[:-1])
        for start, end in zip(edges[::2], edges[1::2]):
            # Plain floats: the turns are stored with job results, and msgspec encodes no numpy scalars.
            turns.append((round(float(start) * CELL_SECONDS, 3), round(min(float(end) * CELL_SECONDS, duration), 3),
                          int(speaker)))
    return sorted(turns)
