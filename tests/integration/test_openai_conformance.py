"""The official openai client (OpenAI and AsyncOpenAI, strict response validation) against the
server under real uvicorn on 127.0.0.1 with the real bundled models.

`server` runs the default settings (multilingual `base`); `strict_server` adds an API key, a small
upload limit and no queue, to provoke every error class the client knows.
"""

from __future__ import annotations

import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import anyio
import openai
import pytest

from app.config.settings import Settings
from app.container import build_container
from app.entrypoints.http import create_app
from tests.conftest import FIXTURES, info, serving, translations_deprecated_by_the_client, wait_for
from tests.integration.conftest import PYANNOTE_SAMPLE
from tests.subtitles import parse_srt, parse_vtt

FOX = FIXTURES / "en_fox.wav"
GERMAN = FIXTURES / "de_coffee.wav"
KEY = "sk-conformance"


@pytest.fixture(scope="module")
def server(real_container) -> Iterator[str]:
    with serving(create_app(real_container)) as url:
        yield url


@pytest.fixture(scope="module")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{server}/v1", api_key="unused", _strict_response_validation=True, max_retries=0, timeout=300
    )


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory) -> Iterator[str]:
    settings = Settings.from_env(
        {
            "DATA_DIR": str(tmp_path_factory.mktemp("strict")),
            "ALLOW_DOWNLOADS": "false",
            "API_KEY": KEY,
            "WHISPER__MODEL": "tiny.en",
            "WHISPER__CPU_THREADS": "2",
            "MAX_UPLOAD_SIZE_BYTES": "400000",
            "MAX_CONCURRENT_TRANSCRIPTIONS": "1",
            "MAX_QUEUED_REQUESTS": "0",
        }
    )
    with serving(create_app(build_container(settings))) as url:
        yield url


def strict_client(url: str, **options) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{url}/v1",
        api_key=KEY,
        _strict_response_validation=True,
        timeout=300,
        **{"max_retries": 0, **options},
    )


# --- response formats -------------------------------------------------------------------------


def test_json_and_usage(client):
    result = client.audio.transcriptions.create(model="whisper-1", file=FOX, response_format="json")
    assert "quick brown fox" in result.text.lower()
    assert result.usage.type == "duration" and 6 < result.usage.seconds <= 8


def test_verbose_json_with_both_granularities(client):
    result = client.audio.transcriptions.create(
        model="whisper-1", file=FOX, response_format="verbose_json", timestamp_granularities=["word", "segment"]
    )
    assert result.language == "english" and 6 < result.duration < 8
    assert result.segments and result.words
    assert all(s.start < s.end for s in result.segments)
    assert [w.start for w in result.words] == sorted(w.start for w in result.words)
    fox = next(w for w in result.words if w.word.strip(" .,").lower() == "fox")
    assert 0.5 < fox.start < 2.0, "word times are real, not spread evenly"


@pytest.mark.parametrize("granularities, words, segments", [(["word"], True, False), (["segment"], False, True)])
def test_one_granularity(client, granularities, words, segments):
    result = client.audio.transcriptions.create(
        model="whisper-1", file=FOX, response_format="verbose_json", timestamp_granularities=granularities
    )
    assert bool(result.words) is words and bool(result.segments) is segments


def test_text_srt_and_vtt_are_strings(client):
    text = client.audio.transcriptions.create(model="whisper-1", file=FOX, response_format="text")
    srt = client.audio.transcriptions.create(model="whisper-1", file=FOX, response_format="srt")
    vtt = client.audio.transcriptions.create(model="whisper-1", file=FOX, response_format="vtt")
    assert isinstance(text, str) and "fox" in text.lower()
    assert parse_srt(srt) and "fox" in " ".join(c.text for c in parse_srt(srt)).lower()
    assert vtt.startswith("WEBVTT") and parse_vtt(vtt)


def test_diarized_json_labels_two_speakers(client):
    result = client.audio.transcriptions.create(
        model="whisper-1", file=PYANNOTE_SAMPLE / "sample.wav", response_format="diarized_json"
    )
    assert result.task == "transcribe" and result.segments
    assert {s.speaker for s in result.segments} == {"SPEAKER_00", "SPEAKER_01"}


@pytest.mark.parametrize("fmt, media_type", [("vtt_json", "application/json"), ("aud", "text/plain")])
def test_whisperx_formats_through_the_raw_response(client, fmt, media_type):
    raw = client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=FOX, response_format=fmt)
    assert raw.http_response.status_code == 200 and raw.headers["content-type"].startswith(media_type)
    if fmt == "vtt_json":
        assert raw.http_response.json()["vtt_text"].startswith("WEBVTT")
    else:
        first = raw.http_response.text.splitlines()[0].split("\t")
        assert float(first[0]) < float(first[1]) and first[2]


@pytest.mark.parametrize("fmt", ["json", "text", "srt", "verbose_json", "vtt"])
def test_translations_in_every_format(client, fmt):
    with translations_deprecated_by_the_client():
        result = client.audio.translations.create(model="whisper-1", file=GERMAN, response_format=fmt)
    text = result if isinstance(result, str) else result.text
    assert text.strip()
    if fmt == "verbose_json":
        assert result.language == "german" and result.segments


# --- how the file is given --------------------------------------------------------------------


def test_file_as_path_bytes_and_tuple(client):
    as_path = client.audio.transcriptions.create(model="whisper-1", file=Path(FOX))
    as_bytes = client.audio.transcriptions.create(model="whisper-1", file=FOX.read_bytes())  # name "upload"
    as_tuple = client.audio.transcriptions.create(model="whisper-1", file=("fox.wav", FOX.read_bytes(), "audio/wav"))
    with FOX.open("rb") as handle:
        as_handle = client.audio.transcriptions.create(model="whisper-1", file=handle)
    assert as_path.text == as_bytes.text == as_tuple.text == as_handle.text


# --- request options --------------------------------------------------------------------------


def test_language_prompt_and_temperatures(client):
    german = client.audio.transcriptions.create(
        model="whisper-1", file=GERMAN, language="de", response_format="verbose_json"
    )
    assert german.language == "german" and "morgen" in german.text.lower()
    prompted = client.audio.transcriptions.create(
        model="whisper-1", file=FOX, prompt="The quick brown fox.", temperature=0.0
    )
    warm = client.audio.transcriptions.create(model="whisper-1", file=FOX, temperature=0.2)
    assert "fox" in prompted.text.lower() and "fox" in warm.text.lower()


def test_raw_response_exposes_the_request_id(client):
    raw = client.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=FOX, extra_headers={"X-Request-ID": "conformance-1"}
    )
    assert raw.request_id == "conformance-1" and raw.parse().text
    generated = client.audio.transcriptions.with_raw_response.create(model="whisper-1", file=FOX)
    assert generated.request_id and len(generated.request_id) == 32


def test_stream(client):
    stream = client.audio.transcriptions.create(model="whisper-1", file=FOX, stream=True)
    events = list(stream)
    assert events[-1].type == "transcript.text.done"
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert deltas and "".join(deltas) == events[-1].text and "fox" in events[-1].text.lower()


def test_async_client(server):
    async def main() -> None:
        async with openai.AsyncOpenAI(
            base_url=f"{server}/v1", api_key="unused", _strict_response_validation=True, max_retries=0, timeout=300
        ) as client:
            verbose = await client.audio.transcriptions.create(
                model="whisper-1", file=FOX, response_format="verbose_json", timestamp_granularities=["word"]
            )
            assert verbose.words and "fox" in verbose.text.lower()
            with translations_deprecated_by_the_client():
                translated = await client.audio.translations.create(model="whisper-1", file=GERMAN)
            assert translated.text.strip()
            stream = await client.audio.transcriptions.create(model="whisper-1", file=FOX, stream=True)
            events = [event async for event in stream]
            assert events[-1].type == "transcript.text.done" and "fox" in events[-1].text.lower()
            models = await client.models.list()
            assert "whisper-1" in [m.id for m in models.data]

    anyio.run(main)


# --- errors -----------------------------------------------------------------------------------


def test_400_bad_request(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=FOX, temperature=3)
    assert caught.value.status_code == 400 and caught.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError, match="could not be decoded"):
        client.audio.transcriptions.create(model="whisper-1", file=("notes.txt", b"not audio", "text/plain"))


def test_404_unknown_model(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.audio.transcriptions.create(model="whisper-7-ultra", file=FOX)
    assert caught.value.body["code"] == "model_not_found" and caught.value.request_id


def test_401_without_or_with_a_wrong_key(strict_server):
    with pytest.raises(openai.AuthenticationError) as caught:
        openai.OpenAI(base_url=f"{strict_server}/v1", api_key="sk-wrong", max_retries=0).models.list()
    assert caught.value.body["code"] == "invalid_api_key"
    assert strict_client(strict_server).models.list().data


def test_413_over_the_upload_limit(strict_server):
    too_big = (PYANNOTE_SAMPLE / "sample.wav").read_bytes()  # ~1 MB against a 400 kB limit
    with pytest.raises(openai.APIStatusError) as caught:
        strict_client(strict_server).audio.transcriptions.create(model="whisper-1", file=("big.wav", too_big))
    assert caught.value.status_code == 413 and "MAX_UPLOAD_SIZE_BYTES" in caught.value.message


def test_429_when_busy_and_the_clients_retry(strict_server):
    long_call = (PYANNOTE_SAMPLE / "sample.wav").read_bytes()[:380_000]  # ~12 s of speech, under the limit
    client = strict_client(strict_server)
    finished: dict = {}
    busy = threading.Thread(
        target=lambda: finished.setdefault(
            "text", client.audio.transcriptions.create(model="whisper-1", file=("call.wav", long_call)).text
        )
    )
    busy.start()
    wait_for(lambda: info(strict_server)["queue"]["running"] == 1, what="the first request holding the only slot")
    with pytest.raises(openai.RateLimitError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=FOX)
    assert caught.value.response.headers["retry-after"] == "2"
    retrying = strict_client(strict_server, max_retries=5)
    assert "fox" in retrying.audio.transcriptions.create(model="whisper-1", file=FOX).text.lower()
    busy.join(timeout=120)
    assert finished["text"]


# --- the newest params of the official client ------------------------------------------------------


def test_logprobs_on_json_spell_the_text(client):
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=FOX, response_format="json", include=["logprobs"]
    )
    assert result.logprobs and "".join(t.token for t in result.logprobs) == result.text
    assert all(t.logprob <= 0 and bytes(int(b) for b in t.bytes).decode() == t.token for t in result.logprobs)
    plain = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=FOX, response_format="json")
    assert plain.logprobs is None and plain.text == result.text  # asking for them changes nothing else


def test_logprobs_come_with_every_delta_and_with_done(client):
    events = list(
        client.audio.transcriptions.create(
            model="gpt-4o-transcribe", file=FIXTURES / "en_weather.wav", stream=True, include=["logprobs"]
        )
    )
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    (done,) = [e for e in events if e.type == "transcript.text.done"]
    assert deltas and all(e.logprobs and "".join(t.token for t in e.logprobs) == e.delta for e in deltas)
    assert "".join(t.token for t in done.logprobs) == done.text == "".join(e.delta for e in deltas)


def test_languages_are_detected_among_the_ones_given_and_reported(client):
    beach = FIXTURES / "es_beach.wav"
    detected = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=beach, response_format="json")
    assert [language.code for language in detected.languages] == ["es"]
    restricted = client.audio.transcriptions.create(
        model="gpt-4o-transcribe", file=beach, response_format="json", languages=["it", "pt"]
    )
    assert restricted.languages[0].code in ("it", "pt")


def test_a_recording_that_switches_language_reports_each(client, tmp_path):
    def samples(path):
        with wave.open(str(path)) as source:
            return source.readframes(source.getnframes())

    mixed = tmp_path / "mixed.wav"
    with wave.open(str(mixed), "wb") as target:  # half a minute of Spanish, then of German
        target.setnchannels(1), target.setsampwidth(2), target.setframerate(16000)
        target.writeframes(
            samples(FIXTURES / "es_beach.wav") * 5 + bytes(32000 * 2) + samples(FIXTURES / "de_coffee.wav") * 5
        )
    result = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=mixed, response_format="json")
    assert {"es", "de"} <= {language.code for language in result.languages}
