"""A diarizer that needs no hub: bundled pyannote segmentation + resemblyzer voices + clustering."""

from __future__ import annotations

import threading

import numpy as np

from app.adapters.audio import float_samples
from app.adapters.models.lazy import Lazy
from app.adapters.speaker_clustering.clustering import cluster, cross_talk
from app.adapters.speaker_clustering.local_speakers import CELL_SECONDS, SegmentationModel
from app.domain.audio import SAMPLE_RATE
from app.domain.models import Audio, Diarization, SpeakerTurn, TranscriptionOptions

_MAX_EMBED_SECONDS = 60.0  # a voice print needs far less; bounds the cost on long recordings


class VoiceEncoder:
    """resemblyzer's bundled speaker encoder, loaded once and warmed (its first call JIT-compiles)."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._encoder = Lazy(self._build)

    def _build(self):
        from resemblyzer import VoiceEncoder as Encoder

        encoder = Encoder("cuda" if self.device == "cuda" else "cpu", verbose=False)
        encoder.embed_utterance(np.zeros(SAMPLE_RATE, dtype=np.float32))
        return encoder

    def warm_up(self) -> None:
        self._encoder.get()

    def unload(self) -> None:
        self._encoder.reset()

    def embed(self, samples: np.ndarray) -> np.ndarray:
        encoder = self._encoder.get()
        if samples.shape[0] < SAMPLE_RATE // 2:
            samples = np.pad(samples, (0, SAMPLE_RATE // 2 - samples.shape[0]))
        vector = encoder.embed_utterance(samples.astype(np.float32))
        return vector / (np.linalg.norm(vector) or 1.0)


class ResemblyzerVoicePrinter:
    """The VoicePrinter port: resemblyzer voice prints of whole recordings or of their stretches."""

    def __init__(self, encoder: VoiceEncoder) -> None:
        self.encoder = encoder
        self._lock = threading.Lock()

    def voice_print(self, audio: Audio, spans=None) -> tuple[float, ...]:
        samples = audio.samples
        if spans is not None:
            pieces, total = [], 0
            for start, end in spans:
                piece = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
                pieces.append(piece[: max(0, int(_MAX_EMBED_SECONDS * SAMPLE_RATE) - total)])
                total += pieces[-1].shape[0]
            samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        with self._lock:
            return tuple(float(x) for x in self.encoder.embed(float_samples(samples[: int(_MAX_EMBED_SECONDS * SAMPLE_RATE)])))


class SpeakerClusteringDiarizer:
    """Backend `speaker_clustering`: works offline with models shipped inside installed packages."""

    name = "speaker_clustering"

    def __init__(self, segmentation: SegmentationModel, encoder: VoiceEncoder) -> None:
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

        def embed(cells: np.ndarray) -> np.ndarray:
            cells = cells[: int(_MAX_EMBED_SECONDS / CELL_SECONDS)]
            chunks = [samples[c * cell : (c + 1) * cell] for c in np.sort(cells)]
            return self.encoder.embed(np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32))

        labels, _ = cluster(local, embed, options.min_speakers, options.max_speakers)
        turns = _turns(labels, cross_talk(local, labels), duration)
        exclusive = _turns(labels, np.full_like(labels, -1), duration)
        # Name speakers in order of first appearance, as pyannote does.
        order = {raw: f"SPEAKER_{i:02d}" for i, raw in enumerate(dict.fromkeys(t[2] for t in turns))}
        return Diarization(turns=tuple(SpeakerTurn(start, end, order[raw]) for start, end, raw in turns),
                           exclusive=tuple(SpeakerTurn(start, end, order[raw]) for start, end, raw in exclusive))


def _turns(labels: np.ndarray, talked_over_by: np.ndarray, duration: float) -> list[tuple[float, float, int]]:
    """Each speaker's runs of cells, where they speak alone or over someone: turns may overlap."""
    turns: list[tuple[float, float, int]] = []
    for speaker in np.unique(labels[labels >= 0]):
        speaking = np.concatenate([[False], (labels == speaker) | (talked_over_by == speaker), [False]])
        edges = np.flatnonzero(speaking[1:] != speaking[:-1])
        for start, end in zip(edges[::2], edges[1::2]):
            turns.append((round(start * CELL_SECONDS, 3), round(min(end * CELL_SECONDS, duration), 3), int(speaker)))
    return sorted(turns)
