from __future__ import annotations

import re

from app.domain.models import RenderOptions, Transcript

_SPACE = re.compile(r"\s+")


class RttmFormatter:
    """NIST RTTM, what diarization tools read and score: one `SPEAKER` line per turn of the diarizer's
    own, overlapping turns included (two people talking at once are two lines over the same time)."""

    media_type = "text/plain"
    needs_diarization = True
    shows_timings = False  # the turns come from the diarizer, not from word or segment times

    def __init__(self, file_id: str = "audio") -> None:
        self.file_id = file_id

    def render(self, transcript: Transcript, options: RenderOptions) -> str:
        lines = []
        for turn in sorted(transcript.speaker_turns or (), key=lambda t: (t.start, t.end, t.speaker)):
            # RTTM fields are separated by whitespace: a known speaker's name must stay one field.
            speaker = _SPACE.sub("_", turn.speaker.strip()) or "unknown"
            lines.append(
                f"SPEAKER {self.file_id} 1 {turn.start:.3f} {turn.end - turn.start:.3f} <NA> <NA> {speaker} <NA> <NA>\n"
            )
        return "".join(lines)
