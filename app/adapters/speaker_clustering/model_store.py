"""ModelStore for the speaker_clustering backend: its one 'model' is the segmentation + encoder pair."""

from __future__ import annotations

from app.adapters.speaker_clustering.diarizer import VoiceEncoder
from app.adapters.speaker_clustering.local_speakers import SegmentationModel
from app.domain.errors import ModelNotFound, NotADiarizationModel

MODEL_ID = "pyannote-segmentation+resemblyzer"


class SpeakerClusteringModelStore:
    def __init__(self, segmentation: SegmentationModel, encoder: VoiceEncoder) -> None:
        self.segmentation = segmentation
        self.encoder = encoder
        self._loaded = False

    def available(self) -> list[str]:
        return [MODEL_ID]

    def requestable(self) -> list[str]:
        return self.available()

    def loaded(self) -> list[str]:
        return [MODEL_ID] if self._loaded else []

    def load(self, name: str) -> str:
        self._check(name)
        self.segmentation.warm_up()
        self.encoder.warm_up()
        self._loaded = True
        return MODEL_ID

    def unload(self, name: str) -> bool:
        self._check(name)
        was_loaded = self._loaded
        self.segmentation.unload()
        self.encoder.unload()
        self._loaded = False
        return was_loaded

    @staticmethod
    def _check(name: str) -> None:
        if name == "whisper-1":
            raise NotADiarizationModel()
        if name != MODEL_ID:
            raise ModelNotFound("diarization model", name, [MODEL_ID])

    def unload_idle(self) -> list[str]:
        return []  # one fixed model (or the transcription model's), unloaded only on request
