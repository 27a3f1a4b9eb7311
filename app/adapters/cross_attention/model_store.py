"""The alignment-stage ModelStore when the only aligner is the cross-attention one.

It has no models of its own: it uses the Whisper model that transcribed, so every language that
model knows is "available" and loading one only checks the code.
"""

from __future__ import annotations

from app.domain.languages import WHISPER_LANGUAGES, required_language


class CrossAttentionModelStore:
    def available(self) -> list[str]:
        return sorted(WHISPER_LANGUAGES)

    def requestable(self) -> list[str]:
        return self.available()

    def loaded(self) -> list[str]:
        return []

    def load(self, name: str) -> str:
        return required_language(name)

    def unload(self, name: str) -> bool:
        self.load(name)
        return False

    def unload_idle(self) -> list[str]:
        return []  # one fixed model (or the transcription model's), unloaded only on request
