from __future__ import annotations

import msgspec

from app.domain.models import RenderOptions, Transcript
from app.schemas.transcription import DiarizedTranscription, diarized_segment, usage


class DiarizedJsonFormatter:
    """OpenAI's `diarized_json`: speaker-labelled segments with string ids."""

    media_type = "application/json"
    needs_diarization = True
    shows_timings = True

    def render(self, transcript: Transcript, options: RenderOptions) -> bytes:
        segments = [diarized_segment(s) for s in transcript.segments]
        return msgspec.json.encode(
            DiarizedTranscription(
                task=transcript.task.value,
                duration=round(transcript.duration, 3),
                text=transcript.text,
                segments=segments,
                usage=usage(transcript),
            )
        )
