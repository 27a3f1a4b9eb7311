from __future__ import annotations

import json

import pytest

from app.domain.models import Task
from tests.conftest import audio_file, pin
from tests.subtitles import parse_srt, parse_vtt

URL = "/v1/audio/transcriptions"
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


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code", "request_id"}
    return body["error"]


@pytest.mark.parametrize("settings_env", [{"WHISPER__INFERENCE_DEVICE": "cpu"}])
def test_defaults(client, fake_transcriber):
    response = client.post(URL, files=audio_file(), data={"model": "whisper-1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "text": "Hello world. How are you?",
        "languages": [{"code": "en"}],
        "usage": {"type": "duration", "seconds": 2},
    }
    options = fake_transcriber.calls[-1]
    assert options.model == "whisper-1" and options.task is Task.TRANSCRIBE
    assert options.language is None and options.prompt is None and options.temperature == 0.0
    assert options.suppress_numerals is True and options.diarize is False
    assert options.align is False, "json shows no times: no alignment pass to pay for"
    assert options.word_timestamps is False and options.chunk_size == 30
    assert options.batch_size == 4, "WHISPER__BATCH_SIZE=0 means 4 on CPU"


@pytest.mark.parametrize(
    ("fields", "aligned"),
    [
        ({}, False),
        ({"response_format": "text"}, False),
        ({"response_format": "verbose_json"}, True),
        ({"response_format": "srt"}, True),
        ({"response_format": "vtt"}, True),
        ({"timestamp_granularities[]": "word"}, True),  # json with words: verbose words are asked for
        ({"diarize": "true"}, True),  # speakers are assigned word by word
        ({"response_format": "diarized_json"}, True),
        ({"response_format": "verbose_json", "align": "false"}, False),
    ],
)
def test_alignment_runs_only_when_the_response_can_show_it(client, fake_aligner, fields, aligned):
    response = client.post(URL, files=audio_file(), data=fields)
    assert response.status_code == 200
    assert (fake_aligner.calls == 1) is aligned


def test_every_field_reaches_the_pipeline(client, fake_transcriber, fake_diarizer):
    data = {
        "model": "tiny.en",
        "language": "EN",
        "prompt": "  Names: Zoë  ",
        "temperature": "0.2",
        "timestamp_granularities[]": ["word", "segment"],
        "stream": "false",
        "hotwords": "Zoë",
        "suppress_numerals": "false",
        "highlight_words": "true",
        "align": "false",
        "diarize": "true",
        "speaker_embeddings": "true",
        "min_speakers": "1",
        "max_speakers": "2",
        "chunk_size": "15",
        "batch_size": "4",
        "response_format": "verbose_json",
    }
    response = client.post(URL, files=audio_file(), data=data)
    assert response.status_code == 200, response.text
    options = fake_transcriber.calls[-1]
    assert (options.model, options.language, options.prompt, options.temperature) == (
        "tiny.en",
        "en",
        "  Names: Zoë  ",
        0.2,
    )
    assert options.hotwords == "Zoë" and options.suppress_numerals is False and options.align is False
    assert options.diarize and options.speaker_embeddings and (options.min_speakers, options.max_speakers) == (1, 2)
    assert options.word_timestamps and (options.chunk_size, options.batch_size) == (15, 4)
    assert fake_diarizer.calls, "diarize=true must run the diarizer"
    body = response.json()
    assert body["segments"][0]["speaker"] == "SPEAKER_00" and body["words"][0]["speaker"] == "SPEAKER_00"


@pytest.mark.parametrize(
    ("sent", "expected"), [(["word"], (True, False)), (["segment"], (False, True)), (["word", "segment"], (True, True))]
)
def test_timestamp_granularities_as_the_openai_client_sends_them(client, sent, expected):
    response = client.post(
        URL, files=audio_file(), data={"response_format": "verbose_json", "timestamp_granularities[]": sent}
    )
    body = response.json()
    assert ("words" in body, "segments" in body) == expected
    if "segments" in body:
        assert all(set(s) >= OPENAI_SEGMENT_KEYS for s in body["segments"])


def test_granularities_without_brackets_are_accepted_too(client):
    body = client.post(
        URL, files=audio_file(), data={"response_format": "verbose_json", "timestamp_granularities": "word"}
    ).json()
    assert [w["word"] for w in body["words"]] == ["Hello", "world.", "How", "are", "you?"]


@pytest.mark.parametrize("value", ["0", "0.0", "0.2", "1", "1.0"])
def test_temperatures_as_strings(client, fake_transcriber, value):
    assert client.post(URL, files=audio_file(), data={"temperature": value}).status_code == 200
    assert fake_transcriber.calls[-1].temperature == float(value)


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("false", False), ("True", True), ("1", True), ("0", False)]
)
def test_booleans_as_strings(client, fake_transcriber, value, expected):
    assert client.post(URL, files=audio_file(), data={"diarize": value}).status_code == 200
    assert fake_transcriber.calls[-1].diarize is expected


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [
        ("json", "application/json"),
        ("verbose_json", "application/json"),
        ("vtt_json", "application/json"),
        ("text", "text/plain; charset=utf-8"),
        ("srt", "application/x-subrip; charset=utf-8"),
        ("vtt", "text/vtt; charset=utf-8"),
        ("aud", "text/plain; charset=utf-8"),
        ("diarized_json", "application/json"),
    ],
)
def test_every_response_format_with_its_content_type(client, fmt, content_type):
    response = client.post(URL, files=audio_file(), data={"response_format": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    text = response.text
    if fmt == "srt":
        assert [c.text for c in parse_srt(text)] == ["Hello world.", "How are you?"]
    elif fmt == "vtt":
        assert len(parse_vtt(text)) == 2
    elif fmt == "vtt_json":
        assert len(parse_vtt(json.loads(text)["vtt_text"])) == 2
    elif fmt == "aud":
        assert text.splitlines()[0] == "0.000\t0.900\tHello world."
    elif fmt == "text":
        assert text == "Hello world. How are you?\n"
    elif fmt == "diarized_json":  # asks for diarization by itself
        assert [s["speaker"] for s in json.loads(text)["segments"]] == ["SPEAKER_00", "SPEAKER_01"]


@pin(DEFAULT_RESPONSE_FORMAT="text", DEFAULT_LANGUAGE="de")
def test_default_response_format_and_language_come_from_settings(container, fake_transcriber):
    from litestar.testing import TestClient

    from app.entrypoints.http import create_app

    with TestClient(create_app(container)) as client:
        response = client.post(URL, files=audio_file())
        assert response.text == "Hello world. How are you?\n"
        assert fake_transcriber.calls[-1].language == "de"
        client.post(URL, files=audio_file(), data={"language": ""})
        assert fake_transcriber.calls[-1].language is None  # an explicit empty language means: detect


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ({"temperature": "1.5"}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": "-0.1"}, "temperature"),
        ({"response_format": "xml"}, "response_format"),
        ({"timestamp_granularities[]": "char"}, "timestamp_granularities[]"),
        ({"language": "klingon"}, "language"),
        ({"align": "maybe"}, "align"),
        ({"chunk_size": "0"}, "chunk_size"),
        ({"chunk_size": "31"}, "chunk_size"),
        ({"batch_size": "0"}, "batch_size"),
        ({"batch_size": "lots"}, "batch_size"),
        ({"min_speakers": "0"}, "min_speakers"),
        ({"min_speakers": "3", "max_speakers": "2"}, "min_speakers"),
    ],
)
def test_bad_field_values_are_400_naming_the_param(client, data, param):
    response = client.post(URL, files=audio_file(), data=data)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_unknown_model_is_404_listing_the_available_ones(client):
    response = client.post(URL, files=audio_file(), data={"model": "large-v9"})
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "base, tiny.en" in error["message"]


@pytest.mark.parametrize("files", [audio_file(seconds=0), {"file": ("x.wav", b"\x00\x01garbage", "audio/wav")}])
def test_undecodable_or_empty_audio_is_400(client, files):
    response = client.post(URL, files=files)
    assert response.status_code == 400
    assert error_of(response)["param"] == "file"


def test_missing_file_is_400(client):
    response = client.post(URL, data={"model": "whisper-1"})
    assert response.status_code == 400 and error_of(response)["param"] == "file"


def test_file_sent_as_a_plain_field_is_400(client):
    response = client.post(URL, data={"file": "not an upload"}, files={"x": ("a", b"1")})
    assert response.status_code == 400 and error_of(response)["param"] == "file"


def test_not_multipart_is_400(client):
    response = client.post(URL, json={"file": "x"})
    assert response.status_code == 400


def test_unknown_extra_fields_are_ignored_like_openai_new_fields(client):
    response = client.post(URL, files=audio_file(), data={"include[]": "logprobs", "chunking_strategy": "auto"})
    assert response.status_code == 200


def test_unknown_routes_and_methods_use_the_openai_envelope(client):
    assert error_of(client.get("/v1/nothing"))["type"] == "invalid_request_error"
    assert client.get(URL).status_code == 405
    assert error_of(client.get(URL))["message"]


def test_request_id_is_echoed_and_generated(client):
    given = client.post(URL, files=audio_file(), headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = client.post(URL, files=audio_file(), headers={"X-Request-ID": "bad id\twith tab"})
    assert generated.headers["x-request-id"] != "bad id\twith tab" and len(generated.headers["x-request-id"]) == 32


def test_translation(client, fake_transcriber):
    response = client.post(
        "/v1/audio/translations",
        files=audio_file(),
        data={
            "model": "whisper-1",
            "prompt": "x",
            "temperature": "0.4",
            "response_format": "verbose_json",
            "chunk_size": "20",
            "batch_size": "2",
        },
    )
    assert response.status_code == 200
    options = fake_transcriber.calls[-1]
    assert options.task is Task.TRANSLATE and options.prompt == "x" and options.temperature == 0.4
    assert (options.chunk_size, options.batch_size) == (20, 2) and options.align is False
    assert response.json()["task"] == "translate"


def test_translation_rejects_bad_values_too(client):
    response = client.post("/v1/audio/translations", files=audio_file(), data={"response_format": "docx"})
    assert response.status_code == 400 and error_of(response)["param"] == "response_format"


def test_subtitle_lines_are_shaped_per_request(client):
    narrow = parse_srt(
        client.post(
            URL, files=audio_file(), data={"response_format": "srt", "max_line_width": "10", "max_line_count": "1"}
        ).text
    )
    assert narrow and all(len(line) <= 10 for c in narrow for line in c.text.split("\n"))
    assert all("\n" not in c.text for c in narrow)
    words = " ".join(c.text for c in narrow).split()
    assert words == "Hello world. How are you?".split()  # the transcript's words, no more, no less
    segments = parse_vtt(
        client.post(URL, files=audio_file(), data={"response_format": "vtt", "subtitle_cues": "segments"}).text
    )
    assert [c.text for c in segments] == ["Hello world.", "How are you?"]


@pin(SUBTITLES__MAX_LINE_WIDTH="12", SUBTITLES__CUES="segments")
def test_subtitle_defaults_are_settings(client):
    cues = parse_srt(client.post(URL, files=audio_file(), data={"response_format": "srt"}).text)
    assert [c.text for c in cues] == ["Hello world.", "How are you?"]
    shaped = parse_srt(
        client.post(URL, files=audio_file(), data={"response_format": "srt", "subtitle_cues": "broadcast"}).text
    )
    assert all(len(line) <= 12 for c in shaped for line in c.text.split("\n"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_line_width", "5"),
        ("max_line_width", "1000"),
        ("max_line_count", "0"),
        ("max_line_count", "x"),
        ("subtitle_cues", "karaoke"),
    ],
)
def test_bad_subtitle_fields_are_400s_naming_them(client, field, value):
    response = client.post(URL, files=audio_file(), data={"response_format": "srt", field: value})
    assert response.status_code == 400 and error_of(response)["param"] == field


def test_keywords_languages_and_include_reach_the_options(client, fake_transcriber):
    response = client.post(
        URL,
        files=audio_file(),
        data={
            "hotwords": "Litestar",
            "keywords[]": ["WhisperX", "pyannote"],
            "languages[]": ["es", "PT"],
            "include[]": "logprobs",
        },
    )
    assert response.status_code == 200, response.text
    options = fake_transcriber.calls[-1]
    assert options.hotwords == "Litestar, WhisperX, pyannote"  # OpenAI's keywords are whisperX's hotwords
    assert options.languages == ("es", "pt") and options.logprobs is True
    assert response.json()["logprobs"] == []  # the fake decodes no tokens


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"include[]": "nope"}, "include[]"),
        ({"languages[]": "xx"}, "languages[]"),
        ({"languages[]": ["es", "klingon"]}, "languages[]"),
        ({"language": "de", "languages[]": ["es", "pt"]}, "languages[]"),
        ({"keywords[]": "x" * 101}, "keywords[]"),
    ],
)
def test_bad_openai_params_are_400s_naming_them(client, fields, param):
    response = client.post(URL, files=audio_file(), data=fields)
    assert response.status_code == 400 and error_of(response)["param"] == param, response.text
