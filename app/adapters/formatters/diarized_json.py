from __future__ import annotations

import msgspec

from app.adapters.formatters.schema import Usage, usage
from app.domain.models import RenderOptions, Segment, Transcript


class DiarizedSegmentOut(msgspec.Struct, kw_only=True):
    type: str = "transcript.text.segment"
    id: str
    start: float
    end: float
    text: str
    speaker: str


def diarized_segment(segment: Segment) -> DiarizedSegmentOut:
    """One speaker segment, as `diarized_json` lists it and as `stream=true` sends it."""
    return DiarizedSegmentOut(id=f"seg_{segment.id}", start=segment.start, end=segment.end, text=segment.text,
                              speaker=segment.speaker or "SPEAKER_00")


class DiarizedTranscription(msgspec.Struct, kw_only=True):
    task: str
    duration: float
    text: str
    segments: list[DiarizedSegmentOut]
    usage: Usage


class DiarizedJsonFormatter:
    """OpenAI's `diarized_json`: speaker-labelled segments with string ids."""

    media_type = "application/json"
    needs_diarization = True

    def render(self, transcript: Transcript, options: RenderOptions) -> bytes:
        segments = [diarized_segment(s) for s in transcript.segments]
        return msgspec.json.encode(
            DiarizedTranscription(task=transcript.task.value, duration=round(transcript.duration, 3), text=transcript.text,
                                  segments=segments, usage=usage(transcript))
        )
