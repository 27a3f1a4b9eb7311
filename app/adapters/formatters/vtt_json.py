from __future__ import annotations

import msgspec

from app.adapters.formatters.verbose_json import verbose_fields
from app.adapters.formatters.vtt import VttFormatter
from app.domain.models import RenderOptions, Transcript
from app.schemas.transcription import VttTranscription


class VttJsonFormatter:
    """verbose_json plus the WebVTT rendering in `vtt_text`."""

    media_type = "application/json"
    needs_diarization = False
    shows_timings = True

    def __init__(self) -> None:
        self._vtt = VttFormatter()

    def render(self, transcript: Transcript, options: RenderOptions) -> bytes:
        vtt_text = self._vtt.render(transcript, options)
        return msgspec.json.encode(VttTranscription(**verbose_fields(transcript, options), vtt_text=vtt_text))
