"""Live transcription's rules (app/domain/live.py): turn detection and local agreement."""

from __future__ import annotations

from app.domain.live import (
    VAD_FRAME_SAMPLES,
    Agreement,
    Hypothesis,
    PauseStarted,
    SpeechStarted,
    SpeechStopped,
    TurnDetection,
    TurnDetector,
)

FRAME_MS = VAD_FRAME_SAMPLES * 1000 // 16_000  # 32


def frames(ms: int, probability: float) -> list[float]:
    return [probability] * (ms // FRAME_MS)


def test_a_turn_starts_with_its_prefix_padding_and_ends_after_the_silence():
    detector = TurnDetector(TurnDetection(threshold=0.5, prefix_padding_ms=320, silence_duration_ms=512))
    assert detector.feed(frames(640, 0.1)) == []
    started = detector.feed(frames(64, 0.9))
    assert started == [SpeechStarted(sample=(20 - 10) * VAD_FRAME_SAMPLES, at_sample=20 * VAD_FRAME_SAMPLES)]
    assert detector.feed(frames(960, 0.9)) == []
    pause = detector.feed(frames(480, 0.0))
    assert pause == [PauseStarted(sample=52 * VAD_FRAME_SAMPLES)]
    stopped = detector.feed(frames(64, 0.0))
    assert stopped == [SpeechStopped(sample=(52 + 16) * VAD_FRAME_SAMPLES, speech_end=52 * VAD_FRAME_SAMPLES)]


def test_speech_that_resumes_within_the_silence_keeps_the_turn_open():
    detector = TurnDetector(TurnDetection(silence_duration_ms=500))
    events = detector.feed(frames(320, 0.9) + frames(320, 0.0) + frames(320, 0.9) + frames(320, 0.0))
    assert [type(e) for e in events] == [SpeechStarted, PauseStarted, PauseStarted]


def test_a_dip_just_under_the_threshold_is_not_silence():
    detector = TurnDetector(TurnDetection(threshold=0.5))
    events = detector.feed(frames(320, 0.9) + frames(2000, 0.4))  # within Silero's 0.15 hysteresis
    assert [type(e) for e in events] == [SpeechStarted]


def test_the_next_turns_padding_never_reaches_into_the_previous_turn():
    detector = TurnDetector(TurnDetection(prefix_padding_ms=3000, silence_duration_ms=320))
    events = detector.feed(frames(320, 0.9) + frames(320, 0.0) + frames(320, 0.9))
    stopped = next(e for e in events if isinstance(e, SpeechStopped))
    second = [e for e in events if isinstance(e, SpeechStarted)][1]
    assert second.sample == stopped.sample


def hypothesis(*words: str, language: str = "en", whole: tuple[bool, ...] | None = None) -> Hypothesis:
    return Hypothesis(tokens=tuple(hash(w) % 50_000 for w in words), pieces=tuple(words),
                      whole=whole or tuple(True for _ in words), language=language)


def text(tokens) -> str:
    return "".join(t.piece for t in tokens)


def test_words_two_hypotheses_agree_on_become_stable_but_never_the_last_one_heard():
    agreement = Agreement()
    assert agreement.offer(hypothesis(" the", " quick", " bro")) == []  # nothing to compare with yet
    assert text(agreement.offer(hypothesis(" the", " quick", " brown", " fox"))) == " the quick"
    # The next hypothesis is decoded with " the quick" forced, so it only says what follows.
    assert text(agreement.offer(hypothesis(" brown", " fox", " jumps"))) == " brown fox"
    assert agreement.prefix == tuple(hash(w) % 50_000 for w in (" the", " quick", " brown", " fox"))


def test_a_hypothesis_that_changes_its_mind_makes_nothing_stable():
    agreement = Agreement()
    agreement.offer(hypothesis(" to", " name", " a"))
    assert agreement.offer(hypothesis(" today", " the", " weather")) == []


def test_the_final_hypothesis_is_taken_whole():
    agreement = Agreement()
    agreement.offer(hypothesis(" good", " morning"))
    assert text(agreement.offer(hypothesis(" good", " morning", " every"))) == " good morning"
    assert text(agreement.finish(hypothesis(" everyone.", " Bye."))) == " everyone. Bye."
    assert text(agreement.stable) == " good morning everyone. Bye."


def test_stable_text_ends_on_a_word_not_inside_one():
    agreement = Agreement()
    agreement.offer(hypothesis(" sun", "ny", " and"))
    # Both begin with " sun", but one goes on "ny" and the other "day": the word itself is not agreed.
    assert agreement.offer(hypothesis(" sun", "day", " is")) == []
    assert text(agreement.offer(hypothesis(" sun", "day", " is", " warm"))) == " sunday is"


def test_in_scripts_without_spaces_stable_text_ends_between_whole_characters():
    agreement = Agreement()
    split_char = (True, False, True, True)  # the second token holds the first half of a character
    agreement.offer(hypothesis("今日", "\ufffd", "は", "晴", language="ja", whole=split_char))
    stable = agreement.offer(hypothesis("今日", "\ufffd", "は", "晴れ", language="ja", whole=split_char))
    assert text(stable) == "今日\ufffdは"  # not cut after the half character


def test_no_speech_adds_nothing():
    agreement = Agreement()
    agreement.offer(hypothesis(" thank", " you"))
    silent = Hypothesis(tokens=(1, 2), pieces=(" thank", " you"), whole=(True, True), no_speech=True)
    assert agreement.offer(silent) == [] and agreement.finish(silent) == []
