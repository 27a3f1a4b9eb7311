from __future__ import annotations

from app.adapters.formatters._subtitles import SubtitleFormatter, timestamp


class SrtFormatter(SubtitleFormatter):
    """SubRip: numbered cues; a speaker is shown as `[SPEAKER_00]: ` before their words."""

    media_type = "application/x-subrip; charset=utf-8"
    needs_diarization = False
    shows_timings = True
    marks_speakers = True

    def block(self, index: int, start: float, end: float, text: str) -> str:
        return f"{index}\n{timestamp(start, ',')} --> {timestamp(end, ',')}\n{text}\n\n"
