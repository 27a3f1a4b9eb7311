"""Who spoke: diarization (the pipeline's third stage), voice prints and the registry of enrolled voices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.domain.models import Audio, Diarization, SpeakerProfile, TranscriptionOptions, VoicePrint


class ChecksOptions(Protocol):
    """A capability: refusing, before anything is transcribed, options the backend cannot honour (senko
    takes no speaker count), by raising a DomainError. A backend that honours every option does nothing."""

    def check(self, options: TranscriptionOptions) -> None: ...


class Diarizer(ChecksOptions, Protocol):
    """Finds who spoke when; the domain then assigns those turns to segments and words."""

    name: str

    def diarize(self, audio: Audio, options: TranscriptionOptions) -> Diarization: ...


class VoicePrinter(Protocol):
    """Speaker embeddings of one kind for everything: known-speaker references, diarized speakers,
    the registry, `speaker_embeddings` — so any two can be compared."""

    model: str  # the speaker encoder's name, kept with every stored print: prints of two models never compare

    def voice_print(self, audio: Audio, spans: Sequence[tuple[float, float]] | None = None) -> VoicePrint:
        """The voice in `audio` (only the `spans`, in seconds, when given)."""
        ...

    def voice_prints(self, audio: Audio, spans: Sequence[tuple[float, float]]) -> list[VoicePrint]:
        """One print per span (in seconds): the voices of the pieces of a live turn."""
        ...


class SpeakerRegistry(Protocol):
    """Voice prints people enrolled, per API key (owner)."""

    def add(self, profile: SpeakerProfile) -> None: ...

    def list(self, owner: str) -> list[SpeakerProfile]: ...

    def get(self, owner: str, speaker_id: str) -> SpeakerProfile | None: ...

    def delete(self, owner: str, speaker_id: str) -> bool: ...
