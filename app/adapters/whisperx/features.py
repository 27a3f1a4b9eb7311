"""Whisper's input: one log-mel window of at most 30 s, padded, as every Whisper adapter builds it."""

from __future__ import annotations

import math

import numpy as np
from whisperx.audio import log_mel_spectrogram

from app.adapters.audio import float_samples
from app.domain.audio import FRAMES_PER_SECOND, SAMPLE_RATE, WINDOW_FRAMES, WINDOW_SAMPLES, WINDOW_SECONDS

# The encoder may read a short window padded to its length and a little over instead of Whisper's
# full 30 s: its cost grows with the input. Whisper's
# positional embeddings are simply cut, as whisper.cpp's `audio_ctx` does; the padding keeps the
# end-of-audio cue the model was trained with.
MIN_WINDOW_SECONDS = 10
PADDING_SECONDS = 2


def n_mels_of(model) -> int:
    """80 mel bins, or what the model's feature extractor says (128 for large-v3)."""
    return model.feat_kwargs.get("feature_size") or 80


def between(samples: np.ndarray, start: float, end: float) -> np.ndarray:
    """The samples from `start` to `end` seconds, cut to one window, as float32."""
    return float_samples(samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)][:WINDOW_SAMPLES])


def log_mel_window(chunk: np.ndarray, n_mels: int, frames: int = WINDOW_FRAMES) -> np.ndarray:
    """(n_mels, frames) log-mel features of up to `frames` / 100 s of audio, zero-padded to that length
    (by default Whisper's full 30 s window)."""
    samples = frames * WINDOW_SAMPLES // WINDOW_FRAMES
    chunk = chunk[:samples]
    mel = log_mel_spectrogram(chunk, n_mels=n_mels, padding=samples - chunk.shape[0])
    return mel.numpy()[:, :frames]


def fitted_frames(seconds: float, step: int = 1) -> int:
    """Mel frames of a window fitted to `seconds` of audio: at least 2 s over and 10 s in all, rounded
    up to whole `step` seconds (windows of equal length batch together), at most Whisper's 30 s."""
    fitted = math.ceil(max(MIN_WINDOW_SECONDS, math.ceil(seconds) + PADDING_SECONDS) / step) * step
    return min(WINDOW_SECONDS, fitted) * FRAMES_PER_SECOND


# A file's windows are fitted in steps of 10 s, so that windows of different requests share batches.
FITTED_WINDOW_STEP_SECONDS = 10


def file_window_frames(seconds: float, fit: bool) -> int:
    """The window a file's chunk of `seconds` is encoded in: fitted (WHISPER__FIT_WINDOWS), or Whisper's full 30 s."""
    return fitted_frames(seconds, step=FITTED_WINDOW_STEP_SECONDS) if fit else WINDOW_FRAMES


def by_length(frames: list[int]) -> dict[int, list[int]]:
    """The positions of the windows of each length, in order: windows of one length are one encoder
    and decoder batch (their encoder outputs must stack)."""
    groups: dict[int, list[int]] = {}
    for index, length in enumerate(frames):
        groups.setdefault(length, []).append(index)
    return groups
