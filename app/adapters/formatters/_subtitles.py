"""SubRip and WebVTT through whisperx's own subtitle writers."""

from __future__ import annotations

import io

from whisperx.utils import SubtitlesWriter

from app.adapters.formatters._whisperx_result import whisperx_result
from app.domain.models import RenderOptions, Transcript


def render_subtitles(writer: SubtitlesWriter, transcript: Transcript, options: RenderOptions) -> str:
    out = io.StringIO()
    writer.write_result(
        whisperx_result(transcript),
        file=out,
        # One cue per segment (segments are sentence-sized after alignment), words underlined on request.
        options={"max_line_width": None, "max_line_count": None, "highlight_words": options.highlight_words},
    )
    return out.getvalue()
