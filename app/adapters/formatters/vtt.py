from __future__ import annotations

from whisperx.utils import WriteVTT

from app.adapters.formatters._subtitles import render_subtitles
from app.domain.models import RenderOptions, Transcript


class VttFormatter:
    media_type = "text/vtt"

    def __init__(self) -> None:
        self._writer = WriteVTT(output_dir=".")

    def render(self, transcript: Transcript, options: RenderOptions) -> str:
        return render_subtitles(self._writer, transcript, options)
