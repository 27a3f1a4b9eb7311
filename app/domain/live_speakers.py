"""Who speaks in a live session, told as each turn ends, with one label per person for the whole session.

A file's diarizer sees the whole recording before it names anyone; a live session cannot wait. So each
finished turn's voice is compared with the voices the session has heard so far (online clustering):
close enough to one of them, it is that person again (and refines their voice); otherwise a new person
joins, named from the enrolled voices the session was given when one sounds like them. A turn in
which the voice changes (someone answers without a pause long enough to end the turn) is cut where
its two sides sound least alike, and each side is told apart on its own.

Pure logic over voice prints (L2-normalised speaker embeddings): the service prints the turn's audio
piece by piece (PIECE_SECONDS, every PIECE_HOP_SECONDS) and hands the prints in here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.domain.models import KnownSpeaker, VoicePrint
from app.domain.speakers import MIN_VOICE_SIMILARITY, similarity

PIECE_SECONDS = 1.5  # each print hears this much of the turn (a shorter turn: all of it)
PIECE_HOP_SECONDS = 0.75
MIN_SIDE_SECONDS = 1.0  # a turn is cut between two voices only where each side has this much speech
# A turn is cut where its two sides are less alike than this; a voice joins the closest earlier
# person when at least this alike (cosine of CAM++ prints; chosen on the development meetings of
# scripts/council.py, docs/speakers-and-diarization.md).
CUT_SIMILARITY = 0.35
SAME_PERSON_SIMILARITY = 0.50


@dataclass(frozen=True, slots=True)
class PiecePrint:
    """The voice of one piece of a turn; times in seconds from the turn's start."""

    start: float
    end: float
    voice: VoicePrint


@dataclass(frozen=True, slots=True)
class SpeakerSpan:
    start: float
    end: float
    speaker: str


@dataclass(slots=True)
class _Person:
    label: str
    total: list[float]  # the sum of their voices, each weighted by its seconds
    enrolled: bool = False  # a known speaker the session was given (matched at MIN_VOICE_SIMILARITY)

    @property
    def voice(self) -> VoicePrint:
        return _normalised(self.total)


class SessionSpeakers:
    """The people of one session, as voices and labels (`SPEAKER_00`, … or an enrolled name)."""

    def __init__(self, known: Sequence[KnownSpeaker] = ()) -> None:
        self._people = [_Person(k.name, list(k.voice), enrolled=True) for k in known]
        self._unnamed = 0

    def label_turn(self, pieces: Sequence[PiecePrint]) -> list[SpeakerSpan]:
        """The turn's speech as spans of one person each, in order (none for a turn without pieces)."""
        sides = _sides(list(pieces))
        # Pieces overlap: two sides meet halfway between the last piece of one and the first of the next.
        meets = [(a[-1].end + b[0].start) / 2 for a, b in zip(sides, sides[1:], strict=False)]
        starts, ends = [sides[0][0].start, *meets] if sides else [], [*meets, sides[-1][-1].end] if sides else []
        spans: list[SpeakerSpan] = []
        for side, start, end in zip(sides, starts, ends, strict=True):
            person = self._person_for(_mean(side), sum(p.end - p.start for p in side))
            if spans and spans[-1].speaker == person.label:
                start = spans.pop().start
            spans.append(SpeakerSpan(round(start, 3), round(end, 3), person.label))
        return spans

    def _person_for(self, voice: VoicePrint, seconds: float) -> _Person:
        def likeness(person: _Person) -> float:
            floor = MIN_VOICE_SIMILARITY if person.enrolled else SAME_PERSON_SIMILARITY
            return similarity(voice, person.voice) - floor

        best = max(self._people, key=likeness, default=None)
        if best is None or likeness(best) < 0:
            best = _Person(f"SPEAKER_{self._unnamed:02d}", [0.0] * len(voice))
            self._unnamed += 1
            self._people.append(best)
        best.total = [t + v * seconds for t, v in zip(best.total, voice, strict=True)]
        return best


def _sides(pieces: list[PiecePrint], depth: int = 2) -> list[list[PiecePrint]]:
    """The turn cut where its voice changes (up to 2**depth sides), each side at least MIN_SIDE_SECONDS."""
    if not pieces:
        return []
    best: tuple[float, int] | None = None
    for cut in range(1, len(pieces)):
        before, after = pieces[:cut], pieces[cut:]
        if before[-1].end - before[0].start < MIN_SIDE_SECONDS or after[-1].end - after[0].start < MIN_SIDE_SECONDS:
            continue
        alike = similarity(_mean(before), _mean(after))
        if best is None or alike < best[0]:
            best = (alike, cut)
    if depth == 0 or best is None or best[0] >= CUT_SIMILARITY:
        return [pieces]
    cut = best[1]
    return [*_sides(pieces[:cut], depth - 1), *_sides(pieces[cut:], depth - 1)]


def _mean(pieces: Sequence[PiecePrint]) -> VoicePrint:
    total = [0.0] * len(pieces[0].voice)
    for piece in pieces:
        weight = piece.end - piece.start
        total = [t + v * weight for t, v in zip(total, piece.voice, strict=True)]
    return _normalised(total)


def _normalised(vector: Sequence[float]) -> VoicePrint:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return tuple(x / norm for x in vector)


def piece_spans(duration: float) -> list[tuple[float, float]]:
    """Where a turn of `duration` seconds is printed: PIECE_SECONDS long, every PIECE_HOP_SECONDS."""
    if duration <= PIECE_SECONDS:
        return [(0.0, duration)] if duration > 0 else []
    count = math.ceil((duration - PIECE_SECONDS) / PIECE_HOP_SECONDS) + 1
    starts = [min(i * PIECE_HOP_SECONDS, duration - PIECE_SECONDS) for i in range(count)]
    return [(round(s, 3), round(s + PIECE_SECONDS, 3)) for s in dict.fromkeys(starts)]


def texts_of(text: str, spans: Sequence[SpeakerSpan], joiner: str) -> list[str]:
    """`text` shared out between consecutive speaker spans in proportion to their time, cut between
    words (after punctuation when there is some within two words of the cut): live decoding gives no
    word times. `joiner` is "" for languages written without spaces (then every character is a word)."""
    words = text.split() if joiner else list(text.strip())
    if len(spans) <= 1 or not words:
        return [joiner.join(words)] + [""] * (len(spans) - 1) if spans else []
    total = max(spans[-1].end - spans[0].start, 1e-6)
    cuts = [0]
    for before, after in zip(spans, spans[1:], strict=False):
        at = round(len(words) * ((before.end + after.start) / 2 - spans[0].start) / total)
        near = [i for i in range(max(cuts[-1] + 1, at - 2), min(len(words), at + 3)) if words[i - 1][-1:] in ".?!,;:"]
        at = min(near, key=lambda i: abs(i - at)) if near else at
        cuts.append(min(max(at, cuts[-1]), len(words)))
    cuts.append(len(words))
    return [joiner.join(words[a:b]) for a, b in zip(cuts, cuts[1:], strict=False)]
