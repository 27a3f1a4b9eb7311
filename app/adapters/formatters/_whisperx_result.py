"""Our Transcript as the result dict whisperx's writers take."""

from __future__ import annotations

from app.domain.models import Transcript


def whisperx_result(transcript: Transcript) -> dict:
    with_words = any(s.words for s in transcript.segments)
    segments = []
    for segment in transcript.segments:
        item: dict = {"start": segment.start, "end": segment.end, "text": segment.text}
        if with_words:
            item["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in segment.words]
        if segment.speaker is not None:
            item["speaker"] = segment.speaker
        segments.append(item)
    return {"segments": segments, "language": transcript.language}
