from __future__ import annotations

from app.domain.models import Diarization, Segment, SpeakerTurn, Task, Transcript, Word
from app.domain.speakers import SpeakerIndex, assign_speakers


def transcript(*segments: Segment, language: str = "en") -> Transcript:
    return Transcript(task=Task.TRANSCRIBE, language=language, duration=10.0, segments=segments)


def words(*items: tuple[str, float, float]) -> tuple[Word, ...]:
    return tuple(Word(word=w, start=s, end=e) for w, s, e in items)


def test_word_takes_the_speaker_it_overlaps_most():
    index = SpeakerIndex((SpeakerTurn(0, 1.2, "A"), SpeakerTurn(1.2, 3, "B")))
    assert index.speaker_at(1.0, 1.5) == "B"  # 0.3 s with B, 0.2 s with A
    assert index.speaker_at(0.1, 0.5) == "A"


def test_word_in_no_turn_takes_the_nearest_speaker():
    index = SpeakerIndex((SpeakerTurn(0, 1, "A"), SpeakerTurn(5, 6, "B")))
    assert index.speaker_at(1.5, 1.8) == "A"
    assert index.speaker_at(4.0, 4.5) == "B"
    assert SpeakerIndex(()).speaker_at(0, 1) is None


def test_segment_spanning_a_speaker_change_is_split_at_that_word():
    segment = Segment(
        id=0,
        start=0.0,
        end=4.0,
        text="hi there hello you",
        tokens=(1, 2, 3),
        words=words(("hi", 0.0, 0.5), ("there", 0.5, 1.0), ("hello", 2.0, 2.5), ("you", 2.5, 3.0)),
    )
    diarization = Diarization(turns=(SpeakerTurn(0, 1.5, "A"), SpeakerTurn(1.5, 4, "B")))
    result = assign_speakers(transcript(segment), diarization, diarizer="d")
    assert [(s.id, s.text, s.speaker, s.start, s.end) for s in result.segments] == [
        (0, "hi there", "A", 0.0, 1.0),
        (1, "hello you", "B", 2.0, 4.0),
    ]
    assert all(w.speaker == s.speaker for s in result.segments for w in s.words)
    assert result.segments[0].tokens == ()  # token ids cannot be split by word


def test_single_speaker_segment_is_kept_whole_with_its_tokens():
    segment = Segment(
        id=0, start=0.0, end=1.0, text="hi there", tokens=(1, 2), words=words(("hi", 0, 0.5), ("there", 0.5, 1))
    )
    result = assign_speakers(transcript(segment), Diarization(turns=(SpeakerTurn(0, 1, "A"),)), diarizer="d")
    assert result.segments[0].tokens == (1, 2) and result.segments[0].speaker == "A"


def test_languages_without_spaces_are_joined_without_spaces():
    segment = Segment(
        id=0, start=0, end=2, text="你好世界", words=words(("你好", 0, 0.5), ("世", 1.0, 1.5), ("界", 1.5, 2.0))
    )
    diarization = Diarization(turns=(SpeakerTurn(0, 0.8, "A"), SpeakerTurn(0.8, 2, "B")))
    result = assign_speakers(transcript(segment, language="zh"), diarization, diarizer="d")
    assert [s.text for s in result.segments] == ["你好", "世界"]


def test_words_in_cross_talk_go_to_the_speaker_heard_most():
    # B talks over the end of A's turn (1.0-1.5 s); the diarizer heard A most there.
    segment = Segment(
        id=0,
        start=0.0,
        end=3.0,
        text="so yes right",
        words=words(("so", 0.5, 0.9), ("yes", 1.1, 1.4), ("right", 2.0, 2.5)),
    )
    diarization = Diarization(
        turns=(SpeakerTurn(0, 1.5, "A"), SpeakerTurn(1.0, 3, "B")),
        exclusive=(SpeakerTurn(0, 1.5, "A"), SpeakerTurn(1.5, 3, "B")),
    )
    result = assign_speakers(transcript(segment), diarization, diarizer="d")
    assert [(s.text, s.speaker) for s in result.segments] == [("so yes", "A"), ("right", "B")]
    heard_b_most = Diarization(turns=diarization.turns, exclusive=(SpeakerTurn(0, 1.0, "A"), SpeakerTurn(1.0, 3, "B")))
    result = assign_speakers(transcript(segment), heard_b_most, diarizer="d")
    assert [(s.text, s.speaker) for s in result.segments] == [("so", "A"), ("yes right", "B")]


def test_segments_without_words_get_a_speaker_by_overlap():
    segment = Segment(id=0, start=2.0, end=3.0, text="x")
    diarization = Diarization(turns=(SpeakerTurn(0, 2.2, "A"), SpeakerTurn(2.2, 4, "B")))
    assert assign_speakers(transcript(segment), diarization, diarizer="d").segments[0].speaker == "B"


# --- known speakers -------------------------------------------------------------------------------------


def test_a_name_goes_to_the_voice_that_is_best_for_both_and_similar_enough():
    from app.domain.models import KnownSpeaker
    from app.domain.speakers import match_known_speakers

    voices = {"SPEAKER_00": (1.0, 0.0), "SPEAKER_01": (0.8, 0.6)}
    # Both voices are above the floor for Alice, but she is SPEAKER_00's; Bob is nobody's.
    assert match_known_speakers(voices, (KnownSpeaker("Alice", (1.0, 0.0)), KnownSpeaker("Bob", (0.0, -1.0)))) == {
        "SPEAKER_00": "Alice"
    }
    # Two names, two voices: each pairing is the best for both sides.
    assert match_known_speakers(voices, (KnownSpeaker("Alice", (1.0, 0.0)), KnownSpeaker("Carol", (0.6, 0.8)))) == {
        "SPEAKER_00": "Alice",
        "SPEAKER_01": "Carol",
    }
    # A name whose best voice is taken by a better pairing is not given to a worse one.
    assert match_known_speakers(
        {"SPEAKER_00": (1.0, 0.0)}, (KnownSpeaker("Alice", (1.0, 0.0)), KnownSpeaker("Dan", (0.99, 0.141)))
    ) == {"SPEAKER_00": "Alice"}
    assert match_known_speakers(voices, ()) == {} and match_known_speakers({}, (KnownSpeaker("A", (1.0, 0.0)),)) == {}


def test_names_go_where_they_fit_together_best_not_where_each_alone_fits_best():
    from math import sqrt

    from app.domain.models import KnownSpeaker
    from app.domain.speakers import match_known_speakers

    voices = {"SPEAKER_00": (1.0, 0.0, 0.0), "SPEAKER_01": (0.0, 1.0, 0.0)}
    alice = KnownSpeaker("Alice", (0.8, 0.6, 0.0))  # 0.80 like SPEAKER_00, 0.60 like SPEAKER_01
    carol = KnownSpeaker("Carol", (0.75, 0.0, sqrt(1 - 0.75**2)))  # 0.75 like SPEAKER_00, like nobody else
    # Taking Alice's best first would leave Carol unplaced and SPEAKER_01 unnamed; together, each fits.
    assert match_known_speakers(voices, (alice, carol)) == {"SPEAKER_00": "Carol", "SPEAKER_01": "Alice"}


def test_an_unknown_voice_is_not_named_to_complete_a_pairing():
    from app.domain.models import KnownSpeaker
    from app.domain.speakers import MIN_VOICE_SIMILARITY, match_known_speakers

    voices = {"SPEAKER_00": (1.0, 0.0, 0.0), "SPEAKER_01": (0.0, 1.0, 0.0)}
    below = MIN_VOICE_SIMILARITY - 0.01
    bob = KnownSpeaker("Bob", (below, below, (1 - 2 * below**2) ** 0.5))  # not here: just below the floor for both
    assert match_known_speakers(voices, (KnownSpeaker("Alice", (1.0, 0.0, 0.0)), bob)) == {"SPEAKER_00": "Alice"}
