"""Who-speaks-when evidence from the pyannote segmentation model bundled inside whisperx.

The model scores up to three *local* speakers in every 5 s window. Labels mean nothing across
windows, but inside one window they tell us reliably whether two moments are the same voice.
We pool the scores onto a coarse grid and keep, per window and cell, the dominant local speaker
and, where a second one is active at the same time (cross-talk), that one too.

Speech is where either this model or Silero VAD (bundled with faster-whisper) hears it: in
reverberant far-field meetings the segmentation model alone misses much speech that Silero finds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from app.adapters.models.lazy import Lazy
from app.domain.audio import SAMPLE_RATE
from app.domain.cancellation import checkpoint

CELL_SECONDS = 0.1  # grid resolution of the diarization
WINDOW_STEP_SECONDS = 1.0  # half the cost of a 0.5 s step, at the same DER
ACTIVE = 0.5
SILERO_THRESHOLD = 0.5  # faster-whisper's default speech probability


@dataclass(frozen=True)
class LocalSpeakers:
    """labels[c, j]: dominant local speaker (0..2) of cell j of window c, or -1 for silence;
    second[c, j]: another local speaker active there at the same time, or -1."""

    labels: np.ndarray  # (windows, cells_per_window) int8
    second: np.ndarray  # (windows, cells_per_window) int8
    first_cell: np.ndarray  # (windows,) global cell index of each window's first cell
    speech: np.ndarray  # (cells,) bool: speech by majority of the windows covering the cell (or by Silero)
    overlap: np.ndarray  # (cells,) bool: two local speakers active at once
    vad_only: np.ndarray | None = None  # (cells,) bool: speech Silero heard where the windows heard none

    @property
    def cells(self) -> int:
        return self.speech.shape[0]


class SegmentationModel:
    """Loads whisperx's bundled pyannote segmentation checkpoint once, runs it on a waveform."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._inference = Lazy(self._build)

    def _build(self):
        import torch
        import whisperx
        from pyannote.audio import Inference, Model

        path = os.path.join(os.path.dirname(whisperx.__file__), "assets", "pytorch_model.bin")
        model = Model.from_pretrained(path)
        if model is None:
            raise RuntimeError(f"pyannote could not load the segmentation model in {path}")
        return Inference(
            model,
            step=WINDOW_STEP_SECONDS,
            skip_aggregation=True,
            device=torch.device("cuda" if self.device == "cuda" else "cpu"),
        )

    def warm_up(self) -> None:
        self._inference.get()

    def unload(self) -> None:
        self._inference.reset()

    def local_speakers(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> LocalSpeakers:
        import torch

        inference = self._inference.get()
        duration = samples.shape[0] / sample_rate
        window = inference.model.specifications.duration
        if duration < window:  # one window, padded with silence
            samples = np.pad(samples, (0, int(window * sample_rate) - samples.shape[0]))
        scores = inference(
            {"waveform": torch.from_numpy(np.ascontiguousarray(samples))[None], "sample_rate": sample_rate},
            hook=lambda **_: checkpoint(),
        )  # called after each batch of windows
        local = pool(scores.data, window, duration)
        vad_only = silero_speech(samples[: int(duration * sample_rate)], local.cells) & ~local.speech
        return replace(local, speech=local.speech | vad_only, vad_only=vad_only)


def silero_speech(samples: np.ndarray, cells: int) -> np.ndarray:
    """(cells,) bool: where Silero VAD hears speech, on the diarization grid."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = np.zeros(cells, dtype=bool)
    cell = CELL_SECONDS * SAMPLE_RATE
    options = VadOptions(
        threshold=SILERO_THRESHOLD, min_speech_duration_ms=100, min_silence_duration_ms=300, speech_pad_ms=0
    )
    for stretch in get_speech_timestamps(samples, options):
        speech[int(stretch["start"] // cell) : int(np.ceil(stretch["end"] / cell))] = True
    return speech


def pool(scores: np.ndarray, window: float, duration: float) -> LocalSpeakers:
    """(windows, frames, 3) scores -> per-cell dominant local speaker labels."""
    windows, frames, _ = scores.shape
    cells_per_window = int(round(window / CELL_SECONDS))
    step_cells = int(round(WINDOW_STEP_SECONDS / CELL_SECONDS))
    cell_of_frame = np.minimum(
        ((np.arange(frames) + 0.5) * (window / frames) / CELL_SECONDS).astype(int), cells_per_window - 1
    )
    pooled = np.zeros((windows, cells_per_window, scores.shape[2]), dtype=np.float32)
    counts = np.bincount(cell_of_frame, minlength=cells_per_window).astype(np.float32)
    for cell in range(cells_per_window):
        pooled[:, cell, :] = scores[:, cell_of_frame == cell, :].sum(axis=1)
    pooled /= np.maximum(counts, 1)[None, :, None]

    active = pooled > ACTIVE
    labels = np.where(active.any(axis=2), pooled.argmax(axis=2), -1).astype(np.int8)
    ranked = np.argsort(-pooled, axis=2)
    runner_up = ranked[:, :, 1]
    second = np.where(np.take_along_axis(active, runner_up[:, :, None], axis=2)[:, :, 0], runner_up, -1).astype(np.int8)
    first_cell = np.arange(windows) * step_cells
    total = max(int(np.ceil(duration / CELL_SECONDS)), 1)
    votes, covered, overlaps = np.zeros(total), np.zeros(total), np.zeros(total)
    for c in range(windows):
        cells = first_cell[c] + np.arange(cells_per_window)
        keep = cells < total
        votes[cells[keep]] += labels[c, keep] >= 0
        overlaps[cells[keep]] += active[c, keep].sum(axis=1) >= 2
        covered[cells[keep]] += 1
    covered = np.maximum(covered, 1)
    return LocalSpeakers(
        labels=labels,
        second=second,
        first_cell=first_cell,
        speech=votes / covered > 0.5,
        overlap=overlaps / covered > 0.5,
    )
