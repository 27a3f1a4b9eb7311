from __future__ import annotations

import re

from tests.conftest import audio_file, pin


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{labels} in:\n{text}")


def test_metrics_count_requests_stages_audio_and_models(client, fake_models):
    client.post("/v1/audio/transcriptions", files=audio_file(4.0), data={"timestamp_granularities[]": "word"})
    client.post("/v1/audio/translations", files=audio_file(2.0))
    client.post("/v1/audio/transcriptions", files=audio_file(), data={"temperature": "9"})
    assert client.post("/models/load", data={"model": "tiny.en"}).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    route = "/v1/audio/transcriptions"
    assert sample(text, "whisperx_http_requests_total", route=route, method="POST", status="200") == 1
    assert sample(text, "whisperx_http_requests_total", route=route, method="POST", status="400") == 1
    assert sample(text, "whisperx_http_request_duration_seconds_count", route=route) == 2
    assert sample(text, "whisperx_audio_processed_seconds_total", task="transcribe") == 4.0
    assert sample(text, "whisperx_audio_processed_seconds_total", task="translate") == 2.0
    assert sample(text, "whisperx_stage_duration_seconds_count", stage="transcribe") == 2
    assert sample(text, "whisperx_stage_duration_seconds_count", stage="align") == 2  # align defaults to on
    assert sample(text, "whisperx_real_time_factor_count", task="transcribe") == 1
    assert sample(text, "whisperx_loaded_models", stage="transcription") == 1
    assert sample(text, "whisperx_queue_depth") == 0 and sample(text, "whisperx_transcriptions_running") == 0


def test_labels_stay_bounded_whatever_clients_send(client):
    for i in range(5):
        client.request(f"XYZZY{i}", "/v1/models")  # made-up methods
        client.get(f"/v1/no-such-route-{i}")
        client.get(f"/v1/models/made-up-model-{i}")
        client.post("/v1/audio/transcriptions", files=audio_file(), data={"model": f"made-up-{i}"})
    text = client.get("/metrics").text
    assert "made-up" not in text and "no-such-route" not in text and "XYZZY" not in text
    assert sample(text, "whisperx_http_requests_total", route="unmatched", method="OTHER", status="405") == 5
    assert sample(text, "whisperx_http_requests_total", route="unmatched", method="GET", status="404") == 5
    assert sample(text, "whisperx_http_requests_total", route="/v1/models/{model_id}", method="GET", status="404") == 5


@pin(API_KEY="sk-secret")
def test_metrics_need_no_api_key(container):
    from litestar.testing import TestClient

    from app.entrypoints.http import create_app

    with TestClient(create_app(container)) as client:
        assert client.get("/metrics").status_code == 200
        assert client.get("/v1/models").status_code == 401
