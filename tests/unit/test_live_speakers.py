"""Live speakers: each turn's voice told apart from the session's earlier voices as it comes."""

from __future__ import annotations

import math

from app.domain.live_speakers import (
    PIECE_HOP_SECONDS,
    PIECE_SECONDS,
    PiecePrint,
    SessionSpeakers,
    SpeakerSpan,
    piece_spans,
    texts_of,
)
from app.domain.models import KnownSpeaker
from tests.fakes import voice


def turn(*voices: tuple[float, int]) -> list[PiecePrint]:
    """Pieces of a turn: (seconds, voice) runs, one piece a second."""
    pieces, at = [], 0.0
    for seconds, index in voices:
        for _ in range(int(seconds)):
            pieces.append(PiecePrint(at, at + 1.0, voice(index)))
            at += 1.0
    return pieces


def blend(a: int, b: int, share: float) -> tuple[float, ...]:
    mixed = [x * (1 - share) + y * share for x, y in zip(voice(a), voice(b), strict=True)]
    norm = math.sqrt(sum(x * x for x in mixed))
    return tuple(x / norm for x in mixed)


def test_a_person_keeps_one_label_for_the_whole_session_and_a_new_voice_gets_a_new_one():
    people = SessionSpeakers()
    labels = [people.label_turn(turn((3, index)))[0].speaker for index in (1, 2, 1, 3, 2)]
    assert labels == ["SPEAKER_00", "SPEAKER_01", "SPEAKER_00", "SPEAKER_02", "SPEAKER_01"]


def test_a_voice_somewhat_like_a_known_one_is_still_that_person():
    people = SessionSpeakers()
    first = people.label_turn([PiecePrint(0.0, 2.0, voice(1))])
    again = people.label_turn([PiecePrint(0.0, 2.0, blend(1, 2, 0.3))])  # cosine 0.92
    other = people.label_turn([PiecePrint(0.0, 2.0, blend(1, 2, 0.85))])  # cosine 0.37 to them: someone else
    assert first[0].speaker == again[0].speaker != other[0].speaker


def test_a_turn_where_the_voice_changes_is_cut_there():
    spans = SessionSpeakers().label_turn(turn((3, 1), (2, 2)))
    assert spans == [SpeakerSpan(0.0, 3.0, "SPEAKER_00"), SpeakerSpan(3.0, 5.0, "SPEAKER_01")]


def test_a_change_too_short_to_tell_is_not_a_cut():
    spans = SessionSpeakers().label_turn([*turn((4, 1)), PiecePrint(4.0, 4.5, voice(2))])
    assert [s.speaker for s in spans] == ["SPEAKER_00"]


def test_enrolled_voices_name_the_people_who_sound_like_them():
    people = SessionSpeakers([KnownSpeaker("Ana", voice(1)), KnownSpeaker("Ben", voice(2))])
    labels = [people.label_turn(turn((2, index)))[0].speaker for index in (2, 3, 1, 2)]
    assert labels == ["Ben", "SPEAKER_00", "Ana", "Ben"]


def test_a_turn_without_pieces_has_no_speakers():
    assert SessionSpeakers().label_turn([]) == []


def test_the_text_is_shared_out_by_time_and_cut_after_punctuation_nearby():
    spans = [SpeakerSpan(0.0, 3.0, "A"), SpeakerSpan(3.0, 5.0, "B")]
    # 10 words, the cut at 3 s of 5: after word 6, or after the comma two words before it
    assert texts_of("one two three four, five six seven eight nine ten", spans, " ") == [
        "one two three four,",
        "five six seven eight nine ten",
    ]
    assert texts_of("one two three four five", spans, " ") == ["one two three", "four five"]
    assert texts_of("一二三四五", spans, "") == ["一二三", "四五"]
    assert texts_of("alone", [SpeakerSpan(0.0, 1.0, "A")], " ") == ["alone"]


def test_pieces_cover_the_turn_overlapping():
    assert piece_spans(1.0) == [(0.0, 1.0)]
    spans = piece_spans(4.0)
    assert spans[0] == (0.0, PIECE_SECONDS) and spans[1][0] == PIECE_HOP_SECONDS and spans[-1][1] == 4.0
    assert all(b - a == PIECE_SECONDS for a, b in spans)
    assert piece_spans(0.0) == []
