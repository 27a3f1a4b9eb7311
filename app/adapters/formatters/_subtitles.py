"""SubRip and WebVTT through whisperx's own subtitle writers."""

from __future__ import annotations

import io
from typing import ClassVar

from whisperx.utils import SubtitlesWriter

from app.adapters.formatters._whisperx_result import whisperx_result
from app.domain.models import RenderOptions, Transcript


class SubtitleFormatter:
    """A Formatter around one whisperx SubtitlesWriter class."""

    media_type: ClassVar[str]
    writer: ClassVar[type[SubtitlesWriter]]

    def render(self, transcript: Transcript, options: RenderOptions) -> str:
        out = io.StringIO()
        self.writer(output_dir=".").write_result(
            whisperx_result(transcript),
            file=out,
            # One cue per segment (segments are sentence-sized after alignment), words underlined on request.
            options={"max_line_width": None, "max_line_count": None, "highlight_words": options.highlight_words},
        )
        return out.getvalue()
