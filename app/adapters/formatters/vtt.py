from __future__ import annotations

from whisperx.utils import WriteVTT

from app.adapters.formatters._subtitles import SubtitleFormatter


class VttFormatter(SubtitleFormatter):
    media_type = "text/vtt"
    writer = WriteVTT
