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


# A pairing counts only this alike (cosine of CAM++ prints): chosen on the real council meetings of
# `make bench-diarization` (scripts/council.py: development meetings, desk and far-field microphones,
# references of 2.5-10 s), where it gave the lowest identification error; measured rates are in
# docs/speakers-and-diarization.md.
MIN_VOICE_SIMILARITY = 0.45


def similarity(a: VoicePrint, b: VoicePrint) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def match_known_speakers(voices: dict[str, VoicePrint], known: tuple[KnownSpeaker, ...]) -> dict[str, str]:
    """Label -> name: one name per label and one label per name, the pairing whose pairs are together the
    most alike beyond MIN_VOICE_SIMILARITY (the assignment problem, solved exactly). A name nobody sounds
    enough like stays unused and a voice no name fits keeps its label, so an unknown person is never
    given a name to fill the pairing, and two references never give one name to two people."""
    gains = {
        (label, speaker.name): similarity(voice, speaker.voice) - MIN_VOICE_SIMILARITY
        for label, voice in voices.items()
        for speaker in known
    }
    names = [speaker.name for speaker in known]
    candidates = {
        name: sorted((label for label in voices if gains[label, name] > 0), key=lambda label: -gains[label, name])
        for name in names
    }
    best: tuple[float, dict[str, str]] = (0.0, {})

    def search(index: int, taken: dict[str, str], total: float) -> None:
        nonlocal best
        if total + sum(gains[candidates[n][0], n] for n in names[index:] if candidates[n]) <= best[0]:
            return  # even every remaining name's best voice cannot beat the best pairing found
        if index == len(names):
            best = (total, dict(taken))
            return
        name = names[index]
        for label in candidates[name]:
            if label not in taken:
                taken[label] = name
                search(index + 1, taken, total + gains[label, name])
                del taken[label]
        search(index + 1, taken, total)  # or this name goes to nobody

    search(0, {}, 0.0)
    return best[1]


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

    segments = tuple(
        replace(s, speaker=rename(s.speaker), words=tuple(replace(w, speaker=rename(w.speaker)) for w in s.words))
        for s in transcript.segments
    )
    embeddings = (
        {rename(k): v for k, v in transcript.speaker_embeddings.items()}
        if transcript.speaker_embeddings
        else transcript.speaker_embeddings
    )
    turns = (
        tuple(replace(t, speaker=names.get(t.speaker, t.speaker)) for t in transcript.speaker_turns)
        if transcript.speaker_turns is not None
        else None
    )
    return transcript.with_segments(segments, speaker_embeddings=embeddings, speaker_turns=turns)
