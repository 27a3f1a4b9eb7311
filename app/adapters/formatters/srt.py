from __future__ import annotations

from whisperx.utils import WriteSRT

from app.adapters.formatters._subtitles import SubtitleFormatter


class SrtFormatter(SubtitleFormatter):
    media_type = "application/x-subrip; charset=utf-8"
    needs_diarization = False
    shows_timings = True
    writer = WriteSRT
