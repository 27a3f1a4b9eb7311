from __future__ import annotations

import msgspec

from app.schemas import TextTranscription, usage
from app.domain.models import RenderOptions, Transcript


class JsonFormatter:
    """OpenAI's `json` format: `{"text": ..., "usage": ...}`."""

    media_type = "application/json"
    needs_diarization = False
    shows_timings = False  # text only: segment times and words are not shown

    def render(self, transcript: Transcript, options: RenderOptions) -> bytes:
        return msgspec.json.encode(TextTranscription(text=transcript.text, usage=usage(transcript)))
