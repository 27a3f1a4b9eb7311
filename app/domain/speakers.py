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
from app.domain.models import Diarization, KnownSpeaker, Segment, SpeakerTurn, Transcript, VoicePrint, Word
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


def assign_speakers(transcript: Transcript, diarization: Diarization, *, diarizer: str) -> Transcript:
    index = SpeakerIndex(diarization.exclusive if diarization.exclusive is not None else diarization.turns)
    segments: list[Segment] = []
    for segment in transcript.segments:
        if not segment.words:
            segments.append(replace(segment, speaker=index.speaker_at(segment.start, segment.end)))
            continue
        words = [replace(w, speaker=index.speaker_at(w.start, w.end)) for w in segment.words]
        segments.extend(_split_by_speaker(segment, words, joiner=word_joiner(transcript.language)))
    return transcript.with_segments(renumber(segments), diarizer=diarizer, speaker_turns=diarization.turns)


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


# A name goes only to a speaker whose voice is clearly closest: the pairing that is best for both
# sides, and at least this similar. Calibrated with CAM++ on the development voices (scripts/voices.py):
# a clean 4 s reference against 8 s of the same person through a far-field room scored 0.32-0.86,
# against other people at most 0.42.
MIN_VOICE_SIMILARITY = 0.40


def similarity(a: VoicePrint, b: VoicePrint) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def match_known_speakers(voices: dict[str, VoicePrint], known: tuple[KnownSpeaker, ...]) -> dict[str, str]:
    """Label -> name, one name per label and one label per name: pairs taken best first, each the
    best match of both its label and its name, and similar enough."""
    scores = sorted(((similarity(voice, speaker.voice), label, speaker.name)
                     for label, voice in voices.items() for speaker in known), reverse=True)
    best_for_label = {label: max(s for s, l, _ in scores if l == label) for label in voices} if known else {}
    best_for_name = {s.name: max(score for score, _, n in scores if n == s.name) for s in known} if voices else {}
    names: dict[str, str] = {}
    for score, label, name in scores:
        if score < MIN_VOICE_SIMILARITY or label in names or name in names.values():
            continue
        if score >= best_for_label[label] and score >= best_for_name[name]:
            names[label] = name
    return names


def spans_of(transcript: Transcript) -> dict[str, list[tuple[float, float]]]:
    """Each speaker label's speech in the transcript (word by word where words have times)."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for segment in transcript.segments:
        pieces = [(w.start, w.end, w.speaker) for w in segment.words] or [(segment.start, segment.end, segment.speaker)]
        for start, end, speaker in pieces:
            if speaker is not None and end > start:
                spans[speaker].append((start, end))
    return dict(spans)


def rename_speakers(transcript: Transcript, names: dict[str, str]) -> Transcript:
    """Known speakers by name; the others keep their generic labels."""
    if not names:
        return transcript

    def rename(label: str | None) -> str | None:
        return names.get(label, label) if label is not None else None

    segments = tuple(replace(s, speaker=rename(s.speaker), words=tuple(replace(w, speaker=rename(w.speaker)) for w in s.words))
                     for s in transcript.segments)
    embeddings = ({rename(k): v for k, v in transcript.speaker_embeddings.items()}
                  if transcript.speaker_embeddings else transcript.speaker_embeddings)
    turns = (tuple(replace(t, speaker=rename(t.speaker)) for t in transcript.speaker_turns)
             if transcript.speaker_turns is not None else None)
    return transcript.with_segments(segments, speaker_embeddings=embeddings, speaker_turns=turns)
