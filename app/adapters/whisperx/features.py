"""Whisper's input: one log-mel window of at most 30 s, padded, as every Whisper adapter builds it."""

from __future__ import annotations

import numpy as np
from whisperx.audio import log_mel_spectrogram

from app.adapters.audio import float_samples
from app.domain.audio import SAMPLE_RATE, WINDOW_FRAMES, WINDOW_SAMPLES


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
