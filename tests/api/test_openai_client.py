"""The official `openai` client, with strict response validation, against the app (fake adapters)."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import audio_file, translations_deprecated_by_the_client


@pytest.fixture
def openai_client(client) -> openai.OpenAI:
    # Litestar's TestClient is an httpx.Client, so the real client speaks to the app in-process.
    return openai.OpenAI(
        api_key="unused",
        base_url=f"{client.base_url}/v1",
        http_client=client,
        _strict_response_validation=True,
        max_retries=0,
    )


def upload():
    return audio_file()["file"]


def test_json(openai_client, fake_transcriber):
    result = openai_client.audio.transcriptions.create(model="whisper-1", file=upload())
    assert result.text == "Hello world. How are you?"
    assert fake_transcriber.calls[-1].model == "whisper-1"


def test_verbose_json_with_both_granularities(openai_client):
    result = openai_client.audio.transcriptions.create(
        model="whisper-1",
        file=upload(),
        response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
        language="en",
        prompt="greeting",
        temperature=0.2,
    )
    assert result.language == "english" and result.duration == 2.0
    assert [w.word for w in result.words] == ["Hello", "world.", "How", "are", "you?"]
    assert [s.text for s in result.segments] == ["Hello world.", "How are you?"]


def test_single_granularity_is_sent_as_one_repeated_part(openai_client, fake_transcriber):
    result = openai_client.audio.transcriptions.create(
        model="whisper-1", file=upload(), response_format="verbose_json", timestamp_granularities=["word"]
    )
    assert result.words and result.segments is None
    assert fake_transcriber.calls[-1].word_timestamps is True


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_text_formats_come_back_as_strings(openai_client, fmt):
    result = openai_client.audio.transcriptions.create(model="whisper-1", file=upload(), response_format=fmt)
    assert isinstance(result, str) and "Hello world." in result


def test_extra_whisperx_fields_through_extra_body(openai_client, fake_transcriber):
    openai_client.audio.transcriptions.create(
        model="whisper-1", file=upload(), extra_body={"diarize": True, "hotwords": "Zoë", "align": False}
    )
    options = fake_transcriber.calls[-1]
    assert options.diarize is True and options.hotwords == "Zoë" and options.align is False


def test_translation(openai_client, fake_transcriber):
    with translations_deprecated_by_the_client():
        result = openai_client.audio.translations.create(model="whisper-1", file=upload())
    assert result.text == "Hello world. How are you?"
    assert fake_transcriber.calls[-1].task.value == "translate"


def test_errors_raise_the_client_exception_classes(openai_client):
    with pytest.raises(openai.BadRequestError) as bad:
        openai_client.audio.transcriptions.create(model="whisper-1", file=upload(), temperature=3)
    assert bad.value.param == "temperature" and bad.value.type == "invalid_request_error"
    with pytest.raises(openai.NotFoundError) as missing:
        openai_client.audio.transcriptions.create(model="whisper-9", file=upload())
    assert missing.value.code == "model_not_found"


def test_models_list(openai_client):
    assert [m.id for m in openai_client.models.list()] == ["whisper-1", "base", "tiny.en"]
    assert openai_client.models.retrieve("base").id == "base"


def test_the_newest_params_as_the_official_client_sends_them(openai_client, fake_transcriber):
    result = openai_client.audio.transcriptions.create(
        model="gpt-4o-transcribe",
        file=upload(),
        response_format="json",
        keywords=["WhisperX", "Litestar"],
        languages=["en", "de"],
        include=["logprobs"],
    )
    assert [language.code for language in result.languages] == ["en"] and result.logprobs == []
    options = fake_transcriber.calls[-1]
    assert options.hotwords == "WhisperX, Litestar" and options.languages == ("en", "de") and options.logprobs
    for refused, param in (({"include": ["nope"]}, "include[]"), ({"languages": ["xx"]}, "languages[]")):
        with pytest.raises(openai.BadRequestError) as error:
            openai_client.audio.transcriptions.create(model="gpt-4o-transcribe", file=upload(), **refused)
        assert error.value.body["param"] == param
