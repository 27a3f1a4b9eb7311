"""Whisper's input: one log-mel window of at most 30 s, padded, as every Whisper adapter builds it."""

from __future__ import annotations

import numpy as np
from whisperx.audio import log_mel_spectrogram

from app.domain.audio import SAMPLE_RATE, WINDOW_FRAMES, WINDOW_SAMPLES


def n_mels_of(model) -> int:
    """80 mel bins, or what the model's feature extractor says (128 for large-v3)."""
    return model.feat_kwargs.get("feature_size") or 80


def between(samples: np.ndarray, start: float, end: float) -> np.ndarray:
    """The samples from `start` to `end` seconds, cut to one window."""
    return samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)][:WINDOW_SAMPLES]


def log_mel_window(chunk: np.ndarray, n_mels: int) -> np.ndarray:
    """(n_mels, 3000) log-mel features of up to 30 s of audio, zero-padded to the full window."""
    chunk = chunk[:WINDOW_SAMPLES]
    mel = log_mel_spectrogram(chunk, n_mels=n_mels, padding=WINDOW_SAMPLES - chunk.shape[0])
    return mel.numpy()[:, :WINDOW_FRAMES]
