from __future__ import annotations

import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np
import openai
import pytest
from openai.types.audio import TranscriptionVerbose

from app.domain.models import TranscriptionOptions
from tests.conftest import FIXTURES, translations_deprecated_by_the_client
from tests.integration.conftest import PYANNOTE_SAMPLE, recall, similarity, stm_utterances, words_of
from tests.shared_batches import wait_for_waiting
from tests.subtitles import parse_srt, parse_vtt

URL = "/v1/audio/transcriptions"
SAMPLE = PYANNOTE_SAMPLE / "sample.wav"


def upload(path):
    return {"file": (path.name, path.read_bytes(), "audio/wav")}


@pytest.fixture(scope="module")
def conversation(real_client) -> dict:
    """A real two-person phone call (pyannote's sample), base model, word and segment times."""
    response = real_client.post(
        URL,
        files=upload(SAMPLE),
        data={
            "model": "whisper-1",
            "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_transcript_matches_what_was_said(conversation):
    reference = " ".join(text for *_, text in stm_utterances())
    assert recall(reference, conversation["text"]) >= 0.8, conversation["text"]
    assert conversation["language"] == "english" and conversation["duration"] == pytest.approx(30.0, abs=0.01)


def test_verbose_json_validates_against_the_official_types(conversation):
    TranscriptionVerbose.model_validate(conversation, strict=True)
    assert conversation["aligner"] == "cross_attention"  # wav2vec2 cannot be had offline: the fallback timed the words
    assert all(s["tokens"] and s["avg_logprob"] < 0 and 0 <= s["no_speech_prob"] <= 1 for s in conversation["segments"])


def test_words_timed_while_decoding_are_the_cross_attention_aligners_without_its_second_pass(real_container):
    """The transcriber times words from the encoder output it decoded from; the aligner, given the
    same transcript without words, encodes the audio again and must arrive at the same times."""
    audio = real_container.core.decoder().decode(io.BytesIO(SAMPLE.read_bytes()))
    options = TranscriptionOptions(model="base", word_timestamps=True)
    transcriber = real_container.transcription.transcriber()
    while_decoding = transcriber.transcribe(audio, options, time_words=lambda language: True)
    untimed = transcriber.transcribe(audio, options)
    afterwards = real_container.alignment.aligners()[-1].align(audio, untimed, options)
    assert untimed.aligner is None and not untimed.words
    assert while_decoding.aligner == afterwards.aligner == "cross_attention"
    assert while_decoding.text == afterwards.text == untimed.text
    assert [s.text for s in while_decoding.segments] == [s.text for s in afterwards.segments]
    assert len(while_decoding.words) == len(afterwards.words) >= 60
    for decoded, aligned in zip(while_decoding.words, afterwards.words):
        assert decoded.word == aligned.word
        assert decoded.start == pytest.approx(aligned.start, abs=0.02) and decoded.end == pytest.approx(
            aligned.end, abs=0.02
        )


def test_word_times_are_real(conversation):
    words, segments = conversation["words"], conversation["segments"]
    assert len(words) >= 60
    assert all(w["start"] <= w["end"] for w in words)
    assert all(a["start"] <= b["start"] for a, b in zip(words, words[1:])), "word starts must be monotonic"
    for word in words:
        assert any(s["start"] - 1e-6 <= word["start"] and word["end"] <= s["end"] + 1e-6 for s in segments), word
    # Anchor words against the human timing in sample.stm (±0.5 s around the utterance).
    for anchor in ("sheila", "yankee", "jersey"):
        spoken = [(start, end) for start, end, _, text in stm_utterances() if anchor in words_of(text)]
        heard = [w for w in words if anchor in words_of(w["word"])]
        assert heard, f"'{anchor}' was not transcribed"
        assert any(s - 0.5 <= heard[0]["start"] <= e + 0.5 for s, e in spoken), (anchor, heard[0], spoken)


def test_words_fall_inside_their_own_segment(real_container):
    from app.adapters.audio import PyAVDecoder

    audio = PyAVDecoder().decode(io.BytesIO(SAMPLE.read_bytes()))
    result = real_container.pipeline().run_audio(audio, TranscriptionOptions(model="base", word_timestamps=True))
    for segment in result.transcript.segments:
        assert segment.words, segment
        for a, b in zip(segment.words, segment.words[1:]):
            assert a.start <= b.start
        assert all(segment.start <= w.start <= w.end <= segment.end for w in segment.words)


@pytest.mark.parametrize(
    ("fixture", "said"),
    [
        ("en_fox.wav", "the quick brown fox jumps over the lazy dog she sells sea shells by the sea shore"),
        (
            "en_weather.wav",
            "good morning everyone today the weather is sunny and warm so we will walk to the park after lunch",
        ),
    ],
)
def test_english_only_model_on_synthetic_speech(real_client, fixture, said):
    response = real_client.post(
        URL, files=upload(FIXTURES / fixture), data={"model": "tiny.en", "response_format": "json"}
    )
    assert response.status_code == 200
    text = response.json()["text"]
    assert similarity(said, text) >= 0.85, text


def test_language_is_detected(real_client):
    body = real_client.post(
        URL, files=upload(FIXTURES / "de_coffee.wav"), data={"response_format": "verbose_json"}
    ).json()
    assert body["language"] == "german"
    said = "Guten Morgen. Ich trinke jeden Tag einen Kaffee und lese die Zeitung."
    assert similarity(said, body["text"]) >= 0.75, body["text"]


SPANISH = set(words_of("Hola, me llamo Carlos. Hoy hace buen tiempo y vamos a la playa con mis amigos.")) - {"carlos"}


def test_translation_of_spanish_speech_is_english(real_client):
    response = real_client.post(
        "/v1/audio/translations", files=upload(FIXTURES / "es_beach.wav"), data={"response_format": "verbose_json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["task"] == "translate"
    words = set(words_of(body["text"]))
    assert len(words & {"today", "good", "weather", "time", "friends", "beach", "my", "name", "we"}) >= 3, body["text"]
    assert not words & SPANISH, body["text"]


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_parse_and_follow_the_speech(real_client, fmt):
    response = real_client.post(
        URL, files=upload(FIXTURES / "en_fox.wav"), data={"response_format": fmt, "model": "tiny.en"}
    )
    assert response.status_code == 200
    cues = parse_srt(response.text) if fmt == "srt" else parse_vtt(response.text)
    assert len(cues) >= 2, response.text  # one cue per sentence after alignment
    assert all(a.end <= b.start + 1e-3 for a, b in zip(cues, cues[1:]))
    assert (
        similarity(
            "the quick brown fox jumps over the lazy dog she sells sea shells by the sea shore",
            " ".join(c.text for c in cues),
        )
        >= 0.85
    )


def test_highlight_words_on_real_speech(real_client):
    response = real_client.post(
        URL,
        files=upload(FIXTURES / "en_fox.wav"),
        data={"response_format": "srt", "highlight_words": "true", "model": "tiny.en"},
    )
    cues = parse_srt(response.text)
    underlined = [c for c in cues if "<u>" in c.text]
    assert len(underlined) >= 8 and all(c.text.count("<u>") == 1 for c in underlined)


def test_decoding_options_run_for_real(real_client):
    response = real_client.post(
        URL,
        files=upload(FIXTURES / "en_fox.wav"),
        data={
            "model": "tiny.en",
            "temperature": "0.2",
            "prompt": "Foxes and dogs.",
            "hotwords": "fox",
            "suppress_numerals": "false",
            "chunk_size": "10",
            "batch_size": "2",
            "align": "false",
            "response_format": "verbose_json",
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert "fox" in words_of(body["text"]) and "aligner" not in body
    assert body["segments"][0]["temperature"] == 0.2


def test_silence_is_an_empty_transcript(real_client):
    body = real_client.post(
        URL, files=upload(FIXTURES / "silence.wav"), data={"response_format": "verbose_json", "language": "en"}
    ).json()
    assert body["text"] == "" and body["segments"] == []


def test_model_errors_with_the_real_resolver(real_client):
    assert (
        real_client.post(URL, files=upload(FIXTURES / "silence.wav"), data={"model": "../../etc/passwd"}).status_code
        == 400
    )
    missing = real_client.post(URL, files=upload(FIXTURES / "silence.wav"), data={"model": "large-v3"})
    assert missing.status_code == 404 and "base, tiny.en" in missing.json()["error"]["message"]
    english_only = real_client.post(
        URL, files=upload(FIXTURES / "de_coffee.wav"), data={"model": "tiny.en", "language": "de"}
    )
    assert english_only.status_code == 400 and english_only.json()["error"]["param"] == "language"


def test_openai_client_strict_validation_on_real_output(real_client):
    client = openai.OpenAI(
        api_key="unused",
        base_url=f"{real_client.base_url}/v1",
        http_client=real_client,
        _strict_response_validation=True,
        max_retries=0,
    )
    with (FIXTURES / "en_fox.wav").open("rb") as f:
        result = client.audio.transcriptions.create(
            model="tiny.en", file=f, response_format="verbose_json", timestamp_granularities=["word"]
        )
    assert result.words and result.words[0].start <= result.words[0].end
    with (FIXTURES / "es_beach.wav").open("rb") as f:
        with translations_deprecated_by_the_client():
            translated = client.audio.translations.create(model="whisper-1", file=f)
    assert "friends" in words_of(translated.text) and not set(words_of(translated.text)) & SPANISH


def test_ten_simultaneous_requests_load_a_model_once(real_settings):
    from app.container import build_container

    container = build_container(real_settings)
    store = container.transcription.whisper_models()
    barrier = threading.Barrier(10)

    def get(_):
        barrier.wait()
        return store.get("tiny.en")

    with ThreadPoolExecutor(10) as pool:
        models = list(pool.map(get, range(10)))
    assert store.load_count == 1 and all(m is models[0] for m in models)
    assert store.loaded() == ["tiny.en"]
    assert store.unload("tiny.en") and store.loaded() == []


def test_model_management_endpoints(real_client):
    assert real_client.post("/models/load", data={"model": "tiny.en"}).json() == {"id": "tiny.en", "loaded": True}
    listed = real_client.get("/models/list").json()
    assert {"id": "tiny.en", "loaded": True} in listed["models"] and listed["default"] == "base"
    assert real_client.post("/models/unload", data={"model": "tiny.en"}).json() == {"id": "tiny.en", "loaded": False}
    offline = real_client.post("/align_models/load", data={"language": "en"})
    assert offline.status_code == 404 and offline.json()["error"]["param"] == "language"
    assert json.loads(real_client.get("/v1/models").text)["data"][0]["id"] == "whisper-1"


def test_diarization_without_a_pyannote_model_says_what_to_set(real_settings):
    from litestar.testing import TestClient

    from app.entrypoints.http import create_app

    settings = msgspec.structs.replace(
        real_settings,
        backends=msgspec.structs.replace(real_settings.backends, diarization="whisperx"),
        whisper=msgspec.structs.replace(real_settings.whisper, preload=False),
    )
    with TestClient(create_app(settings=settings)) as client:
        response = client.post(URL, files=upload(FIXTURES / "en_fox.wav"), data={"model": "tiny.en", "diarize": "true"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["param"] == "diarize" and error["code"] == "stage_unavailable"
    assert "DIARIZATION__MODEL" in error["message"] and "HF_TOKEN" in error["message"]


@pytest.mark.parametrize("vad_method", ["silero", "pyannote"])
def test_both_vads_find_the_speech(real_settings, vad_method):
    from app.adapters.audio import PyAVDecoder
    from app.container import build_container

    settings = msgspec.structs.replace(
        real_settings, whisper=msgspec.structs.replace(real_settings.whisper, vad_method=vad_method)
    )
    container = build_container(settings)
    audio = PyAVDecoder().decode(io.BytesIO((FIXTURES / "en_fox.wav").read_bytes()))
    chunks = container.transcription.vad().speech_chunks(audio.samples, 30)
    assert chunks and chunks[0][0] < 0.5 and chunks[-1][1] > 5.5
    transcript = container.transcription.transcriber().transcribe(audio, TranscriptionOptions(model="tiny.en"))
    assert (
        similarity("the quick brown fox jumps over the lazy dog she sells sea shells by the sea shore", transcript.text)
        >= 0.85
    )


def test_streaming_with_the_real_model(real_client):
    response = real_client.post(
        URL, files=upload(FIXTURES / "en_weather.wav"), data={"stream": "true", "model": "tiny.en"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(chunk[len("data: ") :]) for chunk in response.text.split("\n\n") if chunk]
    assert events[-1]["type"] == "transcript.text.done"
    deltas = [e["delta"] for e in events if e["type"] == "transcript.text.delta"]
    assert deltas and "".join(deltas) == events[-1]["text"]
    said = "good morning everyone today the weather is sunny and warm so we will walk to the park after lunch"
    assert similarity(said, events[-1]["text"]) >= 0.7


def test_a_long_stream_says_what_the_plain_request_says(real_client):
    """Past the first minute a stream finds its first chunk in the head of the file and decodes it
    alone; the text must not change for that."""
    from tests.audio_files import wav
    from tests.realtime import load

    call = load(PYANNOTE_SAMPLE / "sample.wav")
    fox, weather = load(FIXTURES / "en_fox.wav"), load(FIXTURES / "en_weather.wav")
    pause = np.zeros(16_000 * 3, dtype=np.float32)
    long = wav(np.concatenate([weather, pause, call, pause, fox, pause, call[: 16_000 * 20], pause, weather]))
    streamed = real_client.post(
        URL, files={"file": ("long.wav", long, "audio/wav")}, data={"stream": "true", "language": "en"}
    )
    events = [json.loads(chunk[len("data: ") :]) for chunk in streamed.text.split("\n\n") if chunk]
    plain = real_client.post(URL, files={"file": ("long.wav", long, "audio/wav")}, data={"language": "en"})
    assert events[-1]["type"] == "transcript.text.done"
    assert events[-1]["text"] == plain.json()["text"]
    assert len([e for e in events if e["type"] == "transcript.text.delta"]) > 2


def test_simultaneous_requests_share_the_models_batches_and_say_what_they_say_alone(real_client, real_container):
    names = ["en_weather.wav", "en_fox.wav", "three_speakers.wav", "es_beach.wav"]

    def send(name: str) -> str:
        response = real_client.post(URL, files=upload(FIXTURES / name), data={"model": "whisper-1"})
        assert response.status_code == 200, response.text
        return response.json()["text"]

    alone = {name: send(name) for name in names}
    stats = real_container.transcription.whisper_models().get(None).batches.stats
    shared_before = stats.shared
    barrier = threading.Barrier(len(names))

    def send_together(name: str) -> str:
        barrier.wait()
        return send(name)

    with ThreadPoolExecutor(len(names)) as pool:
        together = dict(zip(names, pool.map(send_together, names)))
    assert stats.shared > shared_before  # at least one batch held windows of two requests
    for name in names:
        assert similarity(alone[name], together[name]) >= 0.95, (alone[name], together[name])


def test_a_plain_request_decodes_its_first_chunk_with_the_next_and_says_what_the_stream_says(real_container):
    """The first chunk is decoded alone only for a caller that takes segments as they come; a plain
    request hands it to the model with the next chunk (one encoder and one decoder batch for a clip of
    two 10 s windows, not two of each), and the text is the same."""
    from tests.audio_files import wav
    from tests.realtime import load

    fox = load(FIXTURES / "en_fox.wav")
    clip = wav(np.concatenate([fox, np.zeros(16_000 * 3 // 2, dtype=np.float32), fox]))
    audio = real_container.core.decoder().decode(io.BytesIO(clip))
    transcriber = real_container.transcription.transcriber()
    stats = real_container.transcription.whisper_models().get("base").batches.stats
    options = TranscriptionOptions(model="base", language="en")

    def run(on_segment) -> tuple[str, int]:
        before = stats.batches
        transcript = transcriber.transcribe(audio, options, on_segment=on_segment)
        return " ".join(segment.text for segment in transcript.segments), stats.batches - before

    streamed_segments = []
    streamed, streamed_batches = run(streamed_segments.append)
    plain, plain_batches = run(None)
    assert len(streamed_segments) >= 2, "the clip is two chunks"
    assert (plain_batches, streamed_batches) == (2, 4)
    assert plain == streamed


class CountingLanguageDetection:
    """The loaded CTranslate2 model, counting how often it is asked for languages."""

    def __init__(self, model) -> None:
        self.model, self.calls, self.batch_rows = model, 0, []

    def detect_language(self, encoder_output):
        self.calls += 1
        self.batch_rows.append(encoder_output.shape[0])
        return self.model.detect_language(encoder_output)

    def __getattr__(self, name):
        return getattr(self.model, name)


def test_language_detections_waiting_together_go_through_the_decoder_as_one_batch(real_container):
    """Two requests' windows queued behind a busy model have their languages detected in one decoder
    step, each getting what it would get alone."""
    from app.adapters.whisperx.features import log_mel_window, n_mels_of
    from tests.realtime import load

    model = real_container.transcription.whisper_models().get("base")
    encoded = {
        name: model.encode(log_mel_window(load(FIXTURES / name), n_mels_of(model), 1000)[None])
        for name in ("en_fox.wav", "de_coffee.wav")
    }
    alone = {name: model.window_languages(rows)[0][0][0] for name, rows in encoded.items()}
    busy, release = threading.Event(), threading.Event()

    def hold_the_model(rows, extras):
        busy.set()
        assert release.wait(30)
        return [None] * len(rows)

    counting = CountingLanguageDetection(model.model)
    model.model = counting
    try:
        with ThreadPoolExecutor(3) as pool:
            holding = pool.submit(model.batches.run, "test: hold", np.zeros((1, 1)), [None], hold_the_model)
            assert busy.wait(30)
            detected = {name: pool.submit(model.window_languages, rows) for name, rows in encoded.items()}
            wait_for_waiting(model.batches, 2)
            release.set()
            holding.result(timeout=30)
            together = {name: future.result(timeout=60)[0][0][0] for name, future in detected.items()}
    finally:
        model.model = counting.model
    assert alone == together == {"en_fox.wav": "<|en|>", "de_coffee.wav": "<|de|>"}
    assert counting.batch_rows == [2]


def test_a_clip_of_one_chunk_has_its_language_detected_once(real_container):
    """The first chunk's detection both decides the language and reports the detected ones."""
    audio = real_container.core.decoder().decode(io.BytesIO((FIXTURES / "de_coffee.wav").read_bytes()))
    model = real_container.transcription.whisper_models().get("base")
    counting = CountingLanguageDetection(model.model)
    model.model = counting
    try:
        transcript = real_container.transcription.transcriber().transcribe(audio, TranscriptionOptions(model="base"))
    finally:
        model.model = counting.model
    assert transcript.language == "de" and transcript.languages == ("de",)
    assert counting.calls == 1


def test_a_cancelled_transcription_runs_no_model_batch_after_the_one_it_was_in(real_container):
    """The client of a plain request left while its first chunk was decoded: the model runs nothing more
    for it (what the transcriber does before each batch: app/domain/cancellation.py)."""
    from app.domain.cancellation import Cancellation
    from app.domain.errors import Cancelled

    audio = real_container.core.decoder().decode(io.BytesIO(SAMPLE.read_bytes()))
    transcriber = real_container.transcription.transcriber()
    stats = real_container.transcription.whisper_models().get("base").batches.stats
    options = TranscriptionOptions(model="base", language="en", batch_size=1)
    before = stats.batches
    transcriber.transcribe(audio, options)
    whole_batches = stats.batches - before
    cancellation, seen = Cancellation(), []

    def leave_at_the_first_segment(segment) -> None:
        if not seen:
            seen.append(stats.batches)
            cancellation.cancel()

    with pytest.raises(Cancelled):
        cancellation.run(lambda: transcriber.transcribe(audio, options, on_segment=leave_at_the_first_segment))
    assert stats.batches == seen[0], "no model batch ran after the client left"
    assert seen[0] - (before + whole_batches) < whole_batches  # it left with batches still to run
