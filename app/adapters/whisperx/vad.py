"""Voice activity detection with the pyannote segmentation model bundled inside whisperx."""

from __future__ import annotations

import numpy as np

from app.adapters.audio import float_samples
from app.adapters.models.lazy import Lazy
from app.domain.audio import SAMPLE_RATE
from app.domain.cancellation import checkpoint
from app.domain.models import VadTuning

VAD_ONSET = 0.500
VAD_OFFSET = 0.363
_VAD_BLOCK_SAMPLES = SAMPLE_RATE * 120


SERVER_TUNING = VadTuning()  # no request-level overrides: the server's settings


class PyannoteVad:
    """Loaded on first use, once; returns speech chunks merged up to `chunk_size` seconds."""

    def __init__(self, device: str) -> None:
        self.device = device
        self._model = Lazy(self._build)

    def _build(self):
        import torch
        from whisperx.vads import Pyannote

        device = "cuda:0" if self.device == "cuda" else self.device
        return Pyannote(torch.device(device), token=None, vad_onset=VAD_ONSET, vad_offset=VAD_OFFSET, chunk_size=30)

    def warm_up(self) -> None:
        self._model.get()

    def speech_chunks(
        self, samples: np.ndarray, chunk_size: int, tuning: VadTuning = SERVER_TUNING
    ) -> list[tuple[float, float]]:
        """`tuning.threshold` is the onset; pyannote's model has no padding or silence settings."""
        from whisperx.vads import Pyannote

        vad = self._model.get()
        scores = vad({"waveform": Pyannote.preprocess_audio(float_samples(samples)), "sample_rate": SAMPLE_RATE})
        onset = tuning.threshold if tuning.threshold is not None else VAD_ONSET
        merged = Pyannote.merge_chunks(scores, chunk_size, onset=onset, offset=min(VAD_OFFSET, onset))
        return [(float(c["start"]), float(c["end"])) for c in merged]


class SileroVad:
    """Silero VAD (ONNX, bundled with faster-whisper): several times faster than pyannote on CPU.

    Its speech regions go through whisperx's own chunk merging, so the transcriber sees the same
    kind of <= chunk_size spans either way.
    """

    def __init__(self, threshold: float = VAD_ONSET) -> None:
        self.threshold = threshold

    def warm_up(self) -> None:
        from faster_whisper.vad import get_vad_model

        get_vad_model()

    def speech_chunks(
        self, samples: np.ndarray, chunk_size: int, tuning: VadTuning = SERVER_TUNING
    ) -> list[tuple[float, float]]:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
        from whisperx.diarize import Segment as SpeechRegion
        from whisperx.vads.vad import Vad

        # faster-whisper's BatchedInferencePipeline settings: split long speech at chunk_size; a
        # request's chunking_strategy may set the threshold, the padding and the silence that ends speech.
        threshold = tuning.threshold if tuning.threshold is not None else self.threshold
        options = VadOptions(
            threshold=threshold,
            max_speech_duration_s=chunk_size,
            min_silence_duration_ms=tuning.min_silence_ms if tuning.min_silence_ms is not None else 160,
            speech_pad_ms=tuning.speech_pad_ms if tuning.speech_pad_ms is not None else 400,
        )
        regions: list[tuple[float, float]] = []
        # Block by block: get_speech_timestamps makes several whole-input copies, which for an
        # hour of audio is over half a gigabyte at once.
        for offset in range(0, samples.shape[0], _VAD_BLOCK_SAMPLES):
            checkpoint()
            block = float_samples(samples[offset : offset + _VAD_BLOCK_SAMPLES])
            regions.extend(
                SpeechRegion((offset + r["start"]) / SAMPLE_RATE, (offset + r["end"]) / SAMPLE_RATE, "UNKNOWN")
                for r in get_speech_timestamps(block, options, sampling_rate=SAMPLE_RATE)
            )
        if not regions:
            return []
        merged = Vad.merge_chunks(regions, chunk_size, onset=threshold, offset=None)
        return [(float(c["start"]), float(c["end"])) for c in merged]
