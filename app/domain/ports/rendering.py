"""Response formats: a transcript rendered as text, JSON, subtitles, RTTM…"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from app.domain.models import RenderOptions, Transcript


@runtime_checkable  # handlers receive formatters as a typed dependency, which Litestar checks
class Formatter(Protocol):
    """Renders a transcript into one response format."""

    media_type: str
    needs_diarization: bool  # a speaker-labelled format asks for diarization by itself
    shows_timings: bool  # it shows segment times or words, so alignment can change what it renders

    def render(self, transcript: Transcript, options: RenderOptions) -> str | bytes: ...
