"""OpenAI's `chunking_strategy`, as the official client and curl send it, maps onto our VAD per request."""

from __future__ import annotations

import json

import openai
import pytest

from app.domain.models import VadTuning
from tests.conftest import audio_file

URL = "/v1/audio/transcriptions"


def test_the_official_client_sets_the_vad_per_request(client, fake_transcriber):
    openai_client = openai.OpenAI(api_key="unused", base_url=f"{client.base_url}/v1", http_client=client, max_retries=0)
    strategy = {"type": "server_vad", "threshold": 0.7, "prefix_padding_ms": 100, "silence_duration_ms": 500}
    openai_client.audio.transcriptions.create(model="whisper-1", file=audio_file()["file"], chunking_strategy=strategy)
    assert fake_transcriber.calls[-1].vad == VadTuning(threshold=0.7, speech_pad_ms=100, min_silence_ms=500)
    openai_client.audio.transcriptions.create(model="whisper-1", file=audio_file()["file"], chunking_strategy="auto")
    assert fake_transcriber.calls[-1].vad == VadTuning()  # the server's own settings


def test_curl_may_send_it_as_a_json_object(client, fake_transcriber):
    strategy = json.dumps({"type": "server_vad", "threshold": 0.3})
    assert client.post(URL, files=audio_file(), data={"chunking_strategy": strategy}).status_code == 200
    assert fake_transcriber.calls[-1].vad == VadTuning(threshold=0.3)


@pytest.mark.parametrize(
    "fields",
    [
        {"chunking_strategy[type]": "server_vad", "chunking_strategy[threshold]": "2"},
        {"chunking_strategy[type]": "server_vad", "chunking_strategy[silence_duration_ms]": "-5"},
        {"chunking_strategy[type]": "client_vad"},
        {"chunking_strategy[type]": "server_vad", "chunking_strategy[bogus]": "1"},
        {"chunking_strategy": "sometimes"},
        {"chunking_strategy": "{not json"},
    ],
)
def test_bad_values_are_400s_naming_the_param(client, fields):
    response = client.post(URL, files=audio_file(), data=fields)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "chunking_strategy"
