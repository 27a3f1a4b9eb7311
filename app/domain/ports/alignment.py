"""Word times: the pipeline's second stage."""

from __future__ import annotations

from typing import Protocol

from app.domain.models import Audio, Transcript, TranscriptionOptions


class KnowsItsLanguages(Protocol):
    """A capability: telling, without loading anything, the languages there is surely no model for."""

    def can_align(self, language: str) -> bool:
        """False when this aligner surely has no model for `language`."""
        ...


class Aligner(KnowsItsLanguages, Protocol):
    """Gives every word of a transcript a start and end time.

    Raises AlignmentUnavailable when it has no model for the transcript's language,
    so the pipeline can fall back to the next aligner.
    """

    name: str

    def align(self, audio: Audio, transcript: Transcript, options: TranscriptionOptions) -> Transcript: ...
