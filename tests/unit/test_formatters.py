from __future__ import annotations

import json

import pytest
from openai.types.audio import Transcription, TranscriptionDiarized, TranscriptionVerbose

from app.adapters.formatters.aud import AudacityFormatter
from app.adapters.formatters.diarized_json import DiarizedJsonFormatter
from app.adapters.formatters.json_ import JsonFormatter
from app.adapters.formatters.rttm import RttmFormatter
from app.adapters.formatters.srt import SrtFormatter
from app.adapters.formatters.text import TextFormatter
from app.adapters.formatters.verbose_json import VerboseJsonFormatter
from app.adapters.formatters.vtt import VttFormatter
from app.adapters.formatters.vtt_json import VttJsonFormatter
from app.domain.models import RenderOptions, Segment, SpeakerTurn, Task, Transcript, Word
from tests.subtitles import parse_srt, parse_vtt

OPENAI_SEGMENT_KEYS = {
    "id",
    "seek",
    "start",
    "end",
    "text",
    "tokens",
    "temperature",
    "avg_logprob",
    "compression_ratio",
    "no_speech_prob",
}


def make_transcript(speakers: bool = False, words: bool = True) -> Transcript:
    def w(word, start, end, speaker):
        return Word(word=word, start=start, end=end, score=0.8, speaker=speaker if speakers else None)

    first = Segment(
        id=0,
        seek=0,
        start=0.5,
        end=1.5,
        text="Hello world.",
        tokens=(1, 2, 3),
        avg_logprob=-0.3,
        compression_ratio=1.1,
        no_speech_prob=0.01,
        words=(w("Hello", 0.5, 0.9, "SPEAKER_00"), w("world.", 1.0, 1.5, "SPEAKER_00")) if words else (),
        speaker="SPEAKER_00" if speakers else None,
    )
    second = Segment(
        id=1,
        seek=0,
        start=2.0,
        end=3.25,
        text="Fine, thanks.",
        tokens=(4, 5),
        words=(w("Fine,", 2.0, 2.5, "SPEAKER_01"), w("thanks.", 2.6, 3.25, "SPEAKER_01")) if words else (),
        speaker="SPEAKER_01" if speakers else None,
    )
    return Transcript(
        task=Task.TRANSCRIBE,
        language="en",
        duration=3.4,
        segments=(first, second),
        model="base",
        aligner="cross_attention" if words else None,
    )


def test_json_is_text_languages_and_usage():
    body = json.loads(JsonFormatter().render(make_transcript(), RenderOptions()))
    assert body == {
        "text": "Hello world. Fine, thanks.",
        "languages": [{"code": "en"}],
        "usage": {"type": "duration", "seconds": 4},
    }
    Transcription.model_validate(body, strict=True)


def test_json_logprobs_spell_the_text():
    from dataclasses import replace

    from app.domain.models import TokenLogprob

    def tokens(*pieces: str) -> tuple[TokenLogprob, ...]:
        return tuple(TokenLogprob(token=p, bytes=tuple(p.encode()), logprob=-0.5) for p in pieces)

    first, second = make_transcript().segments
    transcript = make_transcript().with_segments(
        (
            replace(first, token_logprobs=tokens(" Hello", " world", ".")),
            replace(second, token_logprobs=tokens("Fine", ",", " thanks", ".")),
        )
    )
    body = json.loads(JsonFormatter().render(transcript, RenderOptions(logprobs=True)))
    Transcription.model_validate(body, strict=True)
    assert "".join(t["token"] for t in body["logprobs"]) == body["text"]
    assert body["logprobs"][0] == {"token": "Hello", "bytes": list(b"Hello"), "logprob": -0.5}
    assert "logprobs" not in json.loads(JsonFormatter().render(transcript, RenderOptions()))


def test_verbose_json_has_every_openai_segment_field_and_validates():
    body = json.loads(VerboseJsonFormatter().render(make_transcript(), RenderOptions(word_timestamps=True)))
    TranscriptionVerbose.model_validate(body, strict=True)
    assert body["task"] == "transcribe" and body["language"] == "english" and body["duration"] == 3.4
    assert all(set(s) >= OPENAI_SEGMENT_KEYS for s in body["segments"])
    assert [w["word"] for w in body["words"]] == ["Hello", "world.", "Fine,", "thanks."]
    assert body["words"][0] == {"word": "Hello", "start": 0.5, "end": 0.9, "score": 0.8}
    assert body["aligner"] == "cross_attention"
    assert "speaker" not in body["segments"][0]


def test_verbose_json_granularities_choose_segments_and_words():
    transcript = make_transcript()
    only_segments = json.loads(VerboseJsonFormatter().render(transcript, RenderOptions()))
    assert "words" not in only_segments and len(only_segments["segments"]) == 2
    only_words = json.loads(
        VerboseJsonFormatter().render(transcript, RenderOptions(word_timestamps=True, segment_timestamps=False))
    )
    assert "segments" not in only_words and len(only_words["words"]) == 4


def test_verbose_json_carries_speakers_and_embeddings_as_extra_keys():
    transcript = make_transcript(speakers=True).with_segments(
        make_transcript(speakers=True).segments, diarizer="fake", speaker_embeddings={"SPEAKER_00": (0.5, 0.25)}
    )
    body = json.loads(VerboseJsonFormatter().render(transcript, RenderOptions(word_timestamps=True)))
    TranscriptionVerbose.model_validate(body, strict=True)
    assert [s["speaker"] for s in body["segments"]] == ["SPEAKER_00", "SPEAKER_01"]
    assert body["words"][2]["speaker"] == "SPEAKER_01"
    assert body["speaker_embeddings"] == {"SPEAKER_00": [0.5, 0.25]}


def test_vtt_json_is_verbose_json_plus_vtt_text():
    body = json.loads(VttJsonFormatter().render(make_transcript(), RenderOptions()))
    TranscriptionVerbose.model_validate({k: v for k, v in body.items() if k != "vtt_text"}, strict=True)
    assert [c.text for c in parse_vtt(body["vtt_text"])] == ["Hello world.", "Fine, thanks."]


@pytest.mark.parametrize("words", [True, False])
def test_srt_is_valid_subrip_with_one_cue_per_segment(words):
    cues = parse_srt(SrtFormatter().render(make_transcript(words=words), RenderOptions()))
    assert [c.text for c in cues] == ["Hello world.", "Fine, thanks."]
    assert cues[0].start == 0.5 and cues[1].end == 3.25


def test_vtt_is_valid_webvtt():
    cues = parse_vtt(VttFormatter().render(make_transcript(), RenderOptions()))
    assert [(c.start, c.end, c.text) for c in cues] == [(0.5, 1.5, "Hello world."), (2.0, 3.25, "Fine, thanks.")]


def test_highlight_words_underlines_the_spoken_word_in_each_cue():
    cues = parse_srt(SrtFormatter().render(make_transcript(), RenderOptions(highlight_words=True)))
    assert [c.text for c in cues][:3] == ["<u>Hello</u> world.", "Hello world.", "Hello <u>world.</u>"]
    assert cues[0].start == 0.5 and cues[0].end == 0.9


def test_subtitles_name_speakers():
    vtt = parse_vtt(VttFormatter().render(make_transcript(speakers=True), RenderOptions()))
    assert [c.text for c in vtt] == ["<v SPEAKER_00>Hello world.", "<v SPEAKER_01>Fine, thanks."]  # WebVTT voice tags
    srt = parse_srt(SrtFormatter().render(make_transcript(speakers=True), RenderOptions(highlight_words=True)))
    assert srt[0].text == "[SPEAKER_00]: <u>Hello</u> world."
    assert all(c.text.startswith(("[SPEAKER_00]: ", "[SPEAKER_01]: ")) for c in srt)


def test_diarized_json_is_openais_shape():
    body = json.loads(DiarizedJsonFormatter().render(make_transcript(speakers=True), RenderOptions()))
    TranscriptionDiarized.model_validate(body, strict=True)
    assert [(s["id"], s["speaker"], s["type"]) for s in body["segments"]] == [
        ("seg_0", "SPEAKER_00", "transcript.text.segment"),
        ("seg_1", "SPEAKER_01", "transcript.text.segment"),
    ]
    assert body["task"] == "transcribe" and body["text"] == "Hello world. Fine, thanks."


def test_aud_is_an_audacity_label_track():
    assert (
        AudacityFormatter().render(make_transcript(), RenderOptions())
        == "0.500\t1.500\tHello world.\n2.000\t3.250\tFine, thanks.\n"
    )
    with_speakers = AudacityFormatter().render(make_transcript(speakers=True), RenderOptions())
    assert with_speakers.splitlines()[1] == "2.000\t3.250\t[SPEAKER_01] Fine, thanks."


def test_text_is_plain_and_puts_speaker_turns_on_their_own_lines():
    assert TextFormatter().render(make_transcript(), RenderOptions()) == "Hello world. Fine, thanks.\n"
    assert TextFormatter().render(make_transcript(speakers=True), RenderOptions()) == (
        "[SPEAKER_00]: Hello world.\n[SPEAKER_01]: Fine, thanks.\n"
    )


def test_rttm_lists_the_diarizers_own_turns_overlaps_included():
    turns = (
        SpeakerTurn(2.0, 3.25, "SPEAKER_01"),
        SpeakerTurn(0.5, 2.2, "SPEAKER_00"),
        SpeakerTurn(2.9, 3.1, "Mary Ann"),
    )
    transcript = make_transcript(speakers=True).with_segments(
        make_transcript(speakers=True).segments, speaker_turns=turns
    )
    lines = RttmFormatter().render(transcript, RenderOptions()).splitlines()
    assert lines == [
        "SPEAKER audio 1 0.500 1.700 <NA> <NA> SPEAKER_00 <NA> <NA>",
        "SPEAKER audio 1 2.000 1.250 <NA> <NA> SPEAKER_01 <NA> <NA>",
        "SPEAKER audio 1 2.900 0.200 <NA> <NA> Mary_Ann <NA> <NA>",  # a name with a space stays one field
    ]
    assert RttmFormatter.needs_diarization  # asking for rttm turns diarization on


def test_rttm_reads_back_as_the_same_turns_in_pyannote():
    from pyannote.database.util import load_rttm

    turns = (SpeakerTurn(0.0, 1.5, "SPEAKER_00"), SpeakerTurn(1.0, 2.0, "SPEAKER_01"))
    transcript = Transcript(task=Task.TRANSCRIBE, language="en", duration=2.0, segments=(), speaker_turns=turns)
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".rttm") as file:
        file.write(RttmFormatter().render(transcript, RenderOptions()))
        file.flush()
        annotation = load_rttm(file.name)["audio"]
    assert sorted(
        (round(s.start, 3), round(s.end, 3), label) for s, _, label in annotation.itertracks(yield_label=True)
    ) == [(0.0, 1.5, "SPEAKER_00"), (1.0, 2.0, "SPEAKER_01")]


def test_empty_transcript_renders_in_every_format():
    empty = Transcript(task=Task.TRANSCRIBE, language="en", duration=2.0, segments=())
    for formatter in (
        JsonFormatter(),
        VerboseJsonFormatter(),
        DiarizedJsonFormatter(),
        VttJsonFormatter(),
        SrtFormatter(),
        VttFormatter(),
        AudacityFormatter(),
        TextFormatter(),
        RttmFormatter(),
    ):
        formatter.render(empty, RenderOptions(word_timestamps=True))
    assert parse_vtt(VttFormatter().render(empty, RenderOptions())) == []
    assert json.loads(JsonFormatter().render(empty, RenderOptions()))["text"] == ""
    assert RttmFormatter().render(empty, RenderOptions()) == ""
