from __future__ import annotations

import json
import threading

import httpx
import openai

from tests.conftest import audio_file

URL = "/v1/audio/transcriptions"


def events_of(text: str) -> list[dict]:
    assert text.endswith("\n\n"), "every event ends with a blank line"
    chunks = [c for c in text.split("\n\n") if c]
    assert all(c.startswith("data: ") for c in chunks)
    return [json.loads(c[len("data: ") :]) for c in chunks]


def test_stream_sends_a_delta_per_segment_then_done(client):
    response = client.post(URL, files=audio_file(2.5), data={"stream": "true"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = events_of(response.text)
    assert [e["type"] for e in events] == ["transcript.text.delta", "transcript.text.delta", "transcript.text.done"]
    assert events[0]["delta"] == "Hello world." and events[1]["delta"] == " How are you?"
    assert "".join(e["delta"] for e in events[:-1]) == events[-1]["text"] == "Hello world. How are you?"
    assert "usage" not in events[-1]  # the client types stream usage as tokens, which Whisper does not count


def test_stream_skips_alignment_and_diarization(client, fake_transcriber, fake_aligner, fake_diarizer):
    client.post(
        URL, files=audio_file(), data={"stream": "true", "diarize": "true", "timestamp_granularities[]": "word"}
    )
    assert fake_aligner.calls == 0 and fake_diarizer.calls == []
    assert fake_transcriber.calls[-1].align is False


def test_errors_before_the_stream_are_plain_http_errors(client):
    assert client.post(URL, files={"file": ("x", b"not audio")}, data={"stream": "true"}).status_code == 400
    assert client.post(URL, files=audio_file(), data={"stream": "true", "temperature": "9"}).status_code == 400


def test_errors_during_the_stream_are_error_events(client):
    response = client.post(URL, files=audio_file(), data={"stream": "true", "model": "no-such-model"})
    events = events_of(response.text)
    assert events[-1]["type"] == "error"
    assert events[-1]["error"]["code"] == "model_not_found" and set(events[-1]["error"]) == {
        "message",
        "type",
        "param",
        "code",
        "request_id",
    }


def test_the_openai_client_reads_the_stream(client):
    openai_client = openai.OpenAI(
        api_key="unused",
        base_url=f"{client.base_url}/v1",
        http_client=client,
        _strict_response_validation=True,
        max_retries=0,
    )
    stream = openai_client.audio.transcriptions.create(model="whisper-1", file=audio_file()["file"], stream=True)
    events = list(stream)
    assert [e.type for e in events] == ["transcript.text.delta", "transcript.text.delta", "transcript.text.done"]
    assert events[-1].text == "Hello world. How are you?"
    assert [language.code for language in events[-1].languages] == ["en"]  # as OpenAI's done event reports them


def test_the_first_delta_arrives_before_the_transcription_finishes(live_server, fake_transcriber):
    fake_transcriber.between_segments = threading.Event()  # the transcriber stalls after its first segment
    with httpx.Client(timeout=10) as http:
        with http.stream("POST", f"{live_server}{URL}", files=audio_file(), data={"stream": "true"}) as response:
            lines = response.iter_lines()
            first = next(line for line in lines if line)
            assert json.loads(first[len("data: ") :]) == {"type": "transcript.text.delta", "delta": "Hello world."}
            fake_transcriber.between_segments.set()  # only now may the rest be produced
            rest = [json.loads(line[len("data: ") :]) for line in lines if line]
    assert [e["type"] for e in rest] == ["transcript.text.delta", "transcript.text.done"]


def test_a_stream_never_read_gives_its_slot_back(container):
    import gc
    import io

    import anyio

    from app.domain.models import RenderOptions, TranscriptionOptions
    from app.services.transcription import AudioRequest, Caller, ExecutionMode

    service, admission = container.transcription_service(), container.admission()
    request = AudioRequest(
        io.BytesIO(b"2.0"), TranscriptionOptions(model="base"), RenderOptions(), "json", mode=ExecutionMode.STREAM
    )
    still_connected = Caller(owner="anonymous", disconnected=anyio.sleep_forever)
    outcome = anyio.run(service.handle, request, still_connected)
    assert admission.admitted == 1
    del outcome
    gc.collect()
    assert admission.admitted == 0


def test_diarized_json_streams_each_speaker_segment_with_the_deltas_that_belong_to_it(client, fake_diarizer):
    response = client.post(URL, files=audio_file(2.5), data={"stream": "true", "response_format": "diarized_json"})
    events = events_of(response.text)
    assert [e["type"] for e in events] == [
        "transcript.text.delta",
        "transcript.text.segment",
        "transcript.text.delta",
        "transcript.text.segment",
        "transcript.text.done",
    ]
    assert events[0] == {"type": "transcript.text.delta", "delta": "Hello world.", "segment_id": "seg_0"}
    assert events[2] == {"type": "transcript.text.delta", "delta": " How are you?", "segment_id": "seg_1"}
    assert events[1] == {
        "type": "transcript.text.segment",
        "id": "seg_0",
        "start": 0.0,
        "end": 0.9,
        "text": "Hello world.",
        "speaker": "SPEAKER_00",
    }
    assert events[3]["id"] == "seg_1" and events[3]["speaker"] == "SPEAKER_01" and events[3]["text"] == "How are you?"
    assert events[4]["text"] == "Hello world. How are you?"
    assert len(fake_diarizer.calls) == 1


def test_the_openai_client_reads_diarized_segment_events(client):
    openai_client = openai.OpenAI(
        api_key="unused",
        base_url=f"{client.base_url}/v1",
        http_client=client,
        _strict_response_validation=True,
        max_retries=0,
    )
    stream = openai_client.audio.transcriptions.create(
        model="whisper-1", file=audio_file(2.5)["file"], stream=True, response_format="diarized_json"
    )
    events = list(stream)
    segments = [e for e in events if e.type == "transcript.text.segment"]
    assert [(s.speaker, s.text) for s in segments] == [("SPEAKER_00", "Hello world."), ("SPEAKER_01", "How are you?")]
    deltas = [e for e in events if e.type == "transcript.text.delta"]
    assert [d.segment_id for d in deltas] == [s.id for s in segments]
