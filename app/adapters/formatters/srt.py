from __future__ import annotations

from whisperx.utils import WriteSRT

from app.adapters.formatters._subtitles import render_subtitles
from app.domain.models import RenderOptions, Transcript


class SrtFormatter:
    media_type = "application/x-subrip; charset=utf-8"

    def __init__(self) -> None:
        self._writer = WriteSRT(output_dir=".")

    def render(self, transcript: Transcript, options: RenderOptions) -> str:
        return render_subtitles(self._writer, transcript, options)
