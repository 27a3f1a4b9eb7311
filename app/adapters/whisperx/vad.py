"""Voice activity detection with the pyannote segmentation model bundled inside whisperx."""

from __future__ import annotations

import threading

import numpy as np

SAMPLE_RATE = 16_000
VAD_ONSET = 0.500
VAD_OFFSET = 0.363


class PyannoteVad:
    """Loaded on first use, once; returns speech chunks merged up to `chunk_size` seconds."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    def _vad(self):
        with self._lock:
            if self._model is None:
                import torch
                from whisperx.vads import Pyannote

                device = "cuda:0" if self.device == "cuda" else self.device
                self._model = Pyannote(torch.device(device), token=None, vad_onset=VAD_ONSET, vad_offset=VAD_OFFSET, chunk_size=30)
            return self._model

    def warm_up(self) -> None:
        self._vad()

    def speech_chunks(self, samples: np.ndarray, chunk_size: int) -> list[tuple[float, float]]:
        from whisperx.vads import Pyannote

        vad = self._vad()
        scores = vad({"waveform": Pyannote.preprocess_audio(samples), "sample_rate": SAMPLE_RATE})
        merged = Pyannote.merge_chunks(scores, chunk_size, onset=VAD_ONSET, offset=VAD_OFFSET)
        return [(float(c["start"]), float(c["end"])) for c in merged]
