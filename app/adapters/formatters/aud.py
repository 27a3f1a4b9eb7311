from __future__ import annotations

from app.domain.models import RenderOptions, Transcript


class AudacityFormatter:
    """Audacity label track: `start<TAB>end<TAB>text`, seconds, one segment a line."""

    media_type = "text/plain"
    needs_diarization = False
    shows_timings = True

    def render(self, transcript: Transcript, options: RenderOptions) -> str:
        lines = []
        for segment in transcript.segments:
            prefix = f"[{segment.speaker}] " if segment.speaker else ""
            text = segment.text.strip().replace("\t", " ").replace("\n", " ")
            lines.append(f"{segment.start:.3f}\t{segment.end:.3f}\t{prefix}{text}\n")
        return "".join(lines)
