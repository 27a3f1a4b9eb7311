from __future__ import annotations

import pytest


def test_health(client):
    for path in ("/health", "/healthcheck"):
        response = client.get(path)
        assert response.status_code == 200 and response.json() == {"status": "healthy"}


@pytest.mark.parametrize(
    ("prefix", "field", "name", "backend"),
    [
        ("/models", "model", "base", "whisperx"),
        ("/align_models", "language", "en", "whisperx"),
        # No HF_TOKEN in the test settings: `auto` chose the embedded diarizer.
        ("/diarize_models", "model", "pyannote/speaker-diarization-community-1", "speaker_clustering"),
    ],
)
def test_stage_models_list_load_unload(client, prefix, field, name, backend):
    listed = client.get(f"{prefix}/list").json()
    assert listed["backend"] == backend
    assert {"id": name, "loaded": False} in listed["models"]
    loaded = client.post(f"{prefix}/load", data={field: name})
    assert loaded.status_code == 200 and loaded.json() == {"id": name, "loaded": True}
    assert {"id": name, "loaded": True} in client.get(f"{prefix}/list").json()["models"]
    unloaded = client.post(f"{prefix}/unload", data={field: name})
    assert unloaded.status_code == 200 and unloaded.json() == {"id": name, "loaded": False}
    again = client.post(f"{prefix}/unload", data={field: name})
    assert again.status_code == 404 and again.json()["error"]["param"] == field


@pytest.mark.parametrize(
    ("prefix", "field"), [("/models", "model"), ("/align_models", "language"), ("/diarize_models", "model")]
)
def test_stage_model_errors(client, prefix, field):
    missing = client.post(f"{prefix}/load", data={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == field
    unknown = client.post(f"{prefix}/load", data={field: "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"


def test_openai_model_list_and_retrieve(client):
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list"
    assert [m["id"] for m in listed["data"]] == ["whisper-1", "base", "tiny.en"]
    assert all(m["object"] == "model" and m["owned_by"] for m in listed["data"])
    assert client.get("/v1/models/whisper-1").json()["id"] == "whisper-1"
    assert client.get("/v1/models/tiny.en").status_code == 200
    assert client.get("/v1/models/nope").status_code == 404


def test_openapi_schema_lists_the_audio_endpoints(client):
    schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/v1/audio/transcriptions", "/v1/audio/translations", "/models/list", "/healthcheck"} <= set(paths)
