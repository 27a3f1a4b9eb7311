"""Live transcription's rules (app/domain/live.py): turn detection and local agreement."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from app.domain.audio import SAMPLE_RATE
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
    return Hypothesis(
        tokens=tuple(hash(w) % 50_000 for w in words),
        pieces=tuple(words),
        whole=whole or tuple(True for _ in words),
        language=language,
    )


def text(tokens) -> str:
    return "".join(t.piece for t in tokens)


def seconds_apart(step: float = 1.0) -> Iterator[int]:
    """Where consecutive hypotheses' audio ends, in samples: `step` seconds apart."""
    return (int(i * step * SAMPLE_RATE) for i in itertools.count(1))


def test_hypotheses_too_close_together_confirm_nothing_until_one_has_heard_enough_more():
    agreement, heard = Agreement(gap=SAMPLE_RATE, first_gap=SAMPLE_RATE), seconds_apart(0.5)
    agreement.offer(hypothesis(" this", " is", " dy"), next(heard))
    # Half a second later the same words are heard: too close to confirm the end of the first.
    assert agreement.offer(hypothesis(" this", " is", " dying", " in"), next(heard)) == []
    # A second after the first, the name comes out right; the newer near neighbour is not the yardstick.
    assert text(agreement.offer(hypothesis(" this", " is", " Diane", " in", " New"), next(heard))) == " this is"
    assert agreement.previous is not None and agreement.previous.text == " Diane in New"
    # The one a second before this next one misheard the name: still nothing; then the name is agreed.
    assert agreement.offer(hypothesis(" Diane", " in", " New", " Jersey."), next(heard)) == []
    assert text(agreement.offer(hypothesis(" Diane", " in", " New", " Jersey.", " And"), next(heard))) == " Diane in"


def test_words_two_hypotheses_agree_on_become_stable_but_never_the_last_one_heard():
    agreement, heard = Agreement(), seconds_apart()
    assert agreement.offer(hypothesis(" the", " quick", " bro"), next(heard)) == []  # nothing to compare with yet
    assert text(agreement.offer(hypothesis(" the", " quick", " brown", " fox"), next(heard))) == " the quick"
    # The next hypothesis is decoded with " the quick" forced, so it only says what follows. "fox" was
    # the last word the older hypothesis heard: agreed, but not vouched for by it.
    assert text(agreement.offer(hypothesis(" brown", " fox", " jumps"), next(heard))) == " brown"
    assert agreement.prefix == tuple(hash(w) % 50_000 for w in (" the", " quick", " brown"))


def test_past_the_first_words_a_word_both_hypotheses_heard_last_is_not_confirmed_by_them():
    agreement, heard = Agreement(), seconds_apart()
    agreement.offer(hypothesis(" okay", " this", " is"), next(heard))
    assert text(agreement.offer(hypothesis(" okay", " this", " is", " dying"), next(heard))) == " okay this is"
    # Both decodings stopped inside "Diane" and heard "dying" there: it is the older one's last word.
    assert agreement.offer(hypothesis(" dying", " in"), next(heard)) == []
    assert agreement.offer(hypothesis(" Diane", " in", " New"), next(heard)) == []
    assert text(agreement.offer(hypothesis(" Diane", " in", " New", " Jersey."), next(heard))) == " Diane in"
    assert text(agreement.stable) == " okay this is Diane in"


def test_a_turns_first_words_need_only_the_next_hypothesis_later_ones_a_second_more_audio():
    agreement, heard = Agreement(), seconds_apart(0.5)
    agreement.offer(hypothesis(" good", " morning"), next(heard))
    assert text(agreement.offer(hypothesis(" good", " morning", " everyone"), next(heard))) == " good morning"
    assert agreement.offer(hypothesis(" everyone", " today"), next(heard)) == []  # half a second: too close now
    # A second back, "everyone" was the last word heard: that decoding cannot vouch for it.
    assert agreement.offer(hypothesis(" everyone", " today", " is"), next(heard)) == []
    assert text(agreement.offer(hypothesis(" everyone", " today", " is", " warm"), next(heard))) == " everyone"


def test_a_hypothesis_that_changes_its_mind_makes_nothing_stable():
    agreement, heard = Agreement(), seconds_apart()
    agreement.offer(hypothesis(" to", " name", " a"), next(heard))
    assert agreement.offer(hypothesis(" today", " the", " weather"), next(heard)) == []


def test_the_final_hypothesis_is_taken_whole():
    agreement, heard = Agreement(), seconds_apart()
    agreement.offer(hypothesis(" good", " morning"), next(heard))
    assert text(agreement.offer(hypothesis(" good", " morning", " every"), next(heard))) == " good morning"
    assert text(agreement.finish(hypothesis(" everyone.", " Bye."))) == " everyone. Bye."
    assert text(agreement.stable) == " good morning everyone. Bye."


def test_stable_text_ends_on_a_word_not_inside_one():
    agreement, heard = Agreement(), seconds_apart()
    agreement.offer(hypothesis(" sun", "ny", " and"), next(heard))
    # Both begin with " sun", but one goes on "ny" and the other "day": the word itself is not agreed.
    assert agreement.offer(hypothesis(" sun", "day", " is"), next(heard)) == []
    assert text(agreement.offer(hypothesis(" sun", "day", " is", " warm"), next(heard))) == " sunday is"


def test_in_scripts_without_spaces_stable_text_ends_between_whole_characters():
    agreement, heard = Agreement(), seconds_apart()
    split_char = (True, False, True, True)  # the second token holds the first half of a character
    agreement.offer(hypothesis("今日", "\ufffd", "は", "晴", language="ja", whole=split_char), next(heard))
    stable = agreement.offer(hypothesis("今日", "\ufffd", "は", "晴れ", language="ja", whole=split_char), next(heard))
    assert text(stable) == "今日\ufffdは"  # not cut after the half character


def test_no_speech_adds_nothing():
    agreement, heard = Agreement(), seconds_apart()
    agreement.offer(hypothesis(" thank", " you"), next(heard))
    silent = Hypothesis(tokens=(1, 2), pieces=(" thank", " you"), whole=(True, True), no_speech=True)
    assert agreement.offer(silent, next(heard)) == [] and agreement.finish(silent) == []
