"""The alignment-stage ModelStore when the only aligner is the cross-attention one.

It has no models of its own: it uses the Whisper model that transcribed, so every language that
model knows is "available" and loading one only checks the code.
"""

from __future__ import annotations

from app.domain.errors import InvalidRequest
from app.domain.languages import WHISPER_LANGUAGES


class CrossAttentionModelStore:
    def available(self) -> list[str]:
        return sorted(WHISPER_LANGUAGES)

    def loaded(self) -> list[str]:
        return []

    def load(self, name: str) -> str:
        language = (name or "").strip().lower()
        if language not in WHISPER_LANGUAGES:
            raise InvalidRequest(f"Unknown language '{language[:20]}': use an ISO 639-1 code such as 'en'.", param="language")
        return language

    def unload(self, name: str) -> bool:
        self.load(name)
        return False
