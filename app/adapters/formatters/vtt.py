from __future__ import annotations

from dataclasses import replace

from app.adapters.formatters._subtitles import SubtitleFormatter, timestamp
from app.domain.subtitles import CueLine


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VttFormatter(SubtitleFormatter):
    """WebVTT: speakers as voice tags (`<v SPEAKER_00>`), which players show or style, not as text."""

    media_type = "text/vtt"
    needs_diarization = False
    shows_timings = True
    marks_speakers = False
    header = "WEBVTT\n\n"

    def block(self, index: int, start: float, end: float, text: str) -> str:
        return f"{timestamp(start, '.')} --> {timestamp(end, '.')}\n{text}\n\n"

    def line_text(self, line: CueLine, highlighted: int | None) -> str:
        escaped = replace(
            line, words=tuple(replace(w, text=_escaped(w.text)) for w in line.words), mark=_escaped(line.mark)
        )
        text = super().line_text(escaped, highlighted)
        return f"<v {line.speaker}>{text}" if line.speaker is not None else text
