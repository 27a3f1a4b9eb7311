"""Subtitle cues built from word times under the timed-text norms (app/domain/subtitles.py)."""

from __future__ import annotations

import pytest

from app.domain.models import Segment, SubtitleRules, Task, Transcript, Word
from app.domain.subtitles import cues_of

RULES = SubtitleRules()


def spoken(
    text: str,
    *,
    words_per_second: float = 3.0,
    speaker: str | None = None,
    start: float = 0.0,
    pause_after_sentence: float = 0.0,
    language: str = "en",
) -> Transcript:
    """One segment of `text`, its words evenly spaced; a pause after each sentence end when asked."""
    words, at = [], start
    for piece in text.split():
        words.append(Word(piece, at, at + 0.8 / words_per_second, speaker=speaker))
        at += 1 / words_per_second + (pause_after_sentence if piece.endswith((".", "?", "!")) else 0)
    segment = Segment(id=0, start=start, end=at, text=text, words=tuple(words), speaker=speaker)
    return Transcript(task=Task.TRANSCRIBE, language=language, duration=at, segments=(segment,))


def joined(transcript: Transcript) -> list[str]:
    return [w.word for s in transcript.segments for w in s.words]


LONG = (
    "so what we are going to do today is walk through the whole plan from the beginning to the very end "
    "and then we will talk about the budget and who is going to pay for all of it in the next quarter "
    "because nobody has decided that yet and it matters a great deal to everyone in this room"
)


def test_lines_cues_and_durations_stay_within_the_norms():
    transcript = spoken(LONG)
    cues = cues_of(transcript, RULES, marks_speakers=False)
    assert [w.text for c in cues for w in c.words] == joined(transcript)  # every word, once, in order
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2 and all(len(line.text) <= 42 for line in cue.lines), cue.text
        assert 5 / 6 - 1e-6 <= cue.end - cue.start <= 7.0 + 1e-6
    assert all(a.end <= b.start for a, b in zip(cues, cues[1:]))  # no overlaps


def test_no_word_is_left_alone_on_a_line():
    cues = cues_of(spoken(LONG), RULES, marks_speakers=False)
    assert all(len(line.words) > 1 for c in cues if len(c.lines) > 1 for line in c.lines)


def test_cues_end_at_sentence_ends_and_pauses():
    text = "We met on Monday. The plan was simple and everyone agreed to it. Then the rain came."
    cues = cues_of(spoken(text, pause_after_sentence=0.6), RULES, marks_speakers=False)
    assert [c.text.replace("\n", " ") for c in cues] == [
        "We met on Monday.",
        "The plan was simple and everyone agreed to it.",
        "Then the rain came.",
    ]


def test_a_short_cue_stays_up_for_the_minimum_and_fast_speech_is_given_reading_time():
    quick = spoken(
        "Yes. " + "absolutely everything considered, unquestionably magnificent.",
        words_per_second=8,
        pause_after_sentence=2.0,
    )
    first, second = cues_of(quick, RULES, marks_speakers=False)
    assert first.text == "Yes." and first.end - first.start >= 5 / 6 - 1e-6
    assert len(second.text.replace("\n", "")) / (second.end - second.start) <= 20 + 1e-6  # nothing follows: room


def test_reading_speed_gives_way_only_where_the_next_cue_leaves_no_room():
    no_lag = SubtitleRules(max_lag_seconds=0.0)
    cues = cues_of(spoken(LONG, words_per_second=6), no_lag, marks_speakers=False)
    for cue, following in zip(cues, cues[1:]):
        speed = len(cue.text.replace("\n", "")) / (cue.end - cue.start)
        assert speed <= 20 + 1e-6 or cue.end == following.start or cue.end - cue.start >= 7 - 1e-6


def test_fast_speech_is_read_in_time_by_letting_cues_start_a_little_late():
    fast = spoken(LONG, words_per_second=5)  # about 24 characters a second, no pause
    on_time = cues_of(fast, SubtitleRules(max_lag_seconds=0.0), marks_speakers=False)
    late = cues_of(fast, RULES, marks_speakers=False)

    def too_fast(cues) -> int:
        return sum(len(c.text.replace("\n", "")) / (c.end - c.start) > 20 + 1e-6 for c in cues)

    assert too_fast(late) < too_fast(on_time)
    lags = [c.start - c.words[0].start for c in late]
    assert max(lags) <= RULES.max_lag_seconds + 1e-6 and max(lags) > 0
    assert all(a.end <= b.start for a, b in zip(late, late[1:]))  # still never overlapping


def test_line_width_and_count_are_per_request():
    cues = cues_of(spoken(LONG), SubtitleRules(max_line_width=20, max_line_count=1), marks_speakers=False)
    assert all(len(c.lines) == 1 and len(c.lines[0].text) <= 20 for c in cues)


def test_per_segment_cues_are_whispers_own():
    transcript = spoken(LONG)
    (cue,) = cues_of(transcript, SubtitleRules(per_segment=True), marks_speakers=False)
    assert cue.text == LONG and (cue.start, cue.end) == (transcript.segments[0].start, transcript.segments[0].end)


def two_people(first: str, second: str, gap: float = 0.1) -> Transcript:
    a = spoken(first, speaker="SPEAKER_00")
    b = spoken(second, speaker="SPEAKER_01", start=a.duration + gap)
    return Transcript(task=Task.TRANSCRIBE, language="en", duration=b.duration, segments=(*a.segments, *b.segments))


def test_a_change_of_speaker_starts_a_new_cue_or_a_dialogue_line():
    long_turns = two_people(
        "I think we should ship the release on Friday after the review and then tell the customers "
        "about the new installer and the changes to the pricing of the service next month",
        "No, we need another week to test the installer properly",
    )
    cues = cues_of(long_turns, RULES, marks_speakers=True)
    assert all(len({w.speaker for w in c.words}) == 1 for c in cues)
    # A speaker is named where the speaker changes, not again on each cue of the same turn.
    named = [c.lines[0].text.split("]: ")[0] + "]" if c.lines[0].text.startswith("[") else None for c in cues]
    turn_starts = [i == 0 or c.words[0].speaker != cues[i - 1].words[-1].speaker for i, c in enumerate(cues)]
    assert [n is not None for n in named] == turn_starts and len(cues) > sum(turn_starts)
    assert [n for n in named if n] == ["[SPEAKER_00]", "[SPEAKER_01]"]
    short_turns = two_people("Ready?", "Yes.")
    (cue,) = cues_of(short_turns, RULES, marks_speakers=False)  # two short turns share one cue
    assert [line.text for line in cue.lines] == ["- Ready?", "- Yes."]
    assert [line.speaker for line in cue.lines] == ["SPEAKER_00", "SPEAKER_01"]


@pytest.mark.parametrize("marks", [True, False])
def test_speaker_marks_count_towards_the_line_width(marks):
    cues = cues_of(spoken(LONG, speaker="SPEAKER_00"), RULES, marks_speakers=marks)
    assert all(len(line.text) <= 42 for c in cues for line in c.lines)
    assert [c.lines[0].text.startswith("[SPEAKER_00]: ") for c in cues] == [marks] + [False] * (len(cues) - 1)


def test_languages_without_spaces_are_joined_as_written():
    words = tuple(Word(ch, i * 0.2, i * 0.2 + 0.15) for i, ch in enumerate("今天天气很好我们去公园散步吧"))
    segment = Segment(id=0, start=0, end=3.0, text="今天天气很好我们去公园散步吧", words=words)
    (cue,) = cues_of(
        Transcript(task=Task.TRANSCRIBE, language="zh", duration=3.0, segments=(segment,)), RULES, marks_speakers=False
    )
    assert cue.text == "今天天气很好我们去公园散步吧"


def test_segments_without_word_times_are_cut_by_characters():
    segment = Segment(id=0, start=0.0, end=12.0, text=LONG[:200])
    transcript = Transcript(task=Task.TRANSCRIBE, language="en", duration=12.0, segments=(segment,))
    cues = cues_of(transcript, RULES, marks_speakers=False)
    assert " ".join(c.text.replace("\n", " ") for c in cues) == LONG[:200].strip()
    assert all(c.end - c.start <= 7 for c in cues) and cues[-1].end <= 12.0 + 1e-6


def test_a_word_timed_in_pieces_is_never_broken_across_lines_or_cues():
    text = "I drive the bus and take the slow-thru to work every morning"
    pieces = [*text.split()[:7], "slow", "-thru", *text.split()[8:]]
    words = tuple(Word(piece, i * 0.3, i * 0.3 + 0.25) for i, piece in enumerate(pieces))
    segment = Segment(id=0, start=0.0, end=4.0, text=text, words=words)
    narrow = SubtitleRules(max_line_width=30)
    cues = cues_of(
        Transcript(task=Task.TRANSCRIBE, language="en", duration=4.0, segments=(segment,)), narrow, marks_speakers=False
    )
    assert [w for c in cues for w in c.text.split()] == text.split()
