"""Giving transcript words and segments the speakers of a diarization.

As whisperx's `assign_word_speakers`: each word takes the speaker whose turns overlap it most,
and a word in no turn takes the nearest turn's speaker. Unlike it, a segment whose words
change speaker is split at that word, so no subtitle line carries two speakers.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import replace

from app.domain.languages import word_joiner
from app.domain.models import Diarization, Segment, SpeakerTurn, Transcript, Word
from app.domain.timeline import renumber


class SpeakerIndex:
    def __init__(self, turns: tuple[SpeakerTurn, ...]) -> None:
        self.turns = sorted(turns, key=lambda t: t.start)
        self._starts = [t.start for t in self.turns]

    def speaker_at(self, start: float, end: float) -> str | None:
        if not self.turns:
            return None
        overlap: dict[str, float] = defaultdict(float)
        for turn in self.turns[: bisect.bisect_left(self._starts, end)]:
            shared = min(turn.end, end) - max(turn.start, start)
            if shared > 0:
                overlap[turn.speaker] += shared
        if overlap:
            return max(overlap, key=lambda s: (overlap[s], s == self._nearest((start + end) / 2)))
        return self._nearest((start + end) / 2)

    def _nearest(self, time: float) -> str:
        def distance(turn: SpeakerTurn) -> float:
            return 0.0 if turn.start <= time <= turn.end else min(abs(turn.start - time), abs(turn.end - time))

        return min(self.turns, key=distance).speaker


def assign_speakers(transcript: Transcript, diarization: Diarization, *, diarizer: str, embeddings: bool) -> Transcript:
    index = SpeakerIndex(diarization.turns)
    segments: list[Segment] = []
    for segment in transcript.segments:
        if not segment.words:
            segments.append(replace(segment, speaker=index.speaker_at(segment.start, segment.end)))
            continue
        words = [replace(w, speaker=index.speaker_at(w.start, w.end)) for w in segment.words]
        segments.extend(_split_by_speaker(segment, words, joiner=word_joiner(transcript.language)))
    return transcript.with_segments(
        renumber(segments),
        diarizer=diarizer,
        speaker_embeddings=diarization.embeddings if embeddings else None,
    )


def _split_by_speaker(segment: Segment, words: list[Word], joiner: str) -> list[Segment]:
    runs: list[list[Word]] = [[words[0]]]
    for word in words[1:]:
        if word.speaker == runs[-1][-1].speaker:
            runs[-1].append(word)
        else:
            runs.append([word])
    if len(runs) == 1:
        return [replace(segment, words=tuple(words), speaker=words[0].speaker)]
    # Splitting loses the per-piece token ids; the pieces keep the segment's decoding scores.
    return [
        replace(
            segment,
            start=run[0].start if i else segment.start,
            end=run[-1].end if i < len(runs) - 1 else segment.end,
            text=joiner.join(w.word for w in run),
            tokens=(),
            words=tuple(run),
            speaker=run[0].speaker,
        )
        for i, run in enumerate(runs)
    ]
