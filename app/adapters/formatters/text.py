from __future__ import annotations

from app.domain.models import RenderOptions, Transcript


class TextFormatter:
    """Plain text; when diarized, each speaker turn on its own line."""

    media_type = "text/plain"
    needs_diarization = False
    shows_timings = False  # text only: segment times and words are not shown

    def render(self, transcript: Transcript, options: RenderOptions) -> str:
        if not any(s.speaker for s in transcript.segments):
            return transcript.text + "\n"
        turns: list[tuple[str | None, list[str]]] = []
        for segment in transcript.segments:
            if turns and turns[-1][0] == segment.speaker:
                turns[-1][1].append(segment.text.strip())
            else:
                turns.append((segment.speaker, [segment.text.strip()]))
        return "".join(f"[{speaker}]: {' '.join(texts)}\n" for speaker, texts in turns)
