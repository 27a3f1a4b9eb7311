"""GET /info and GET /models/catalog."""

from __future__ import annotations

from litestar.testing import TestClient

from app.entrypoints.http import create_app
from tests.conftest import pin


def test_info_tells_a_client_what_this_server_is(client):
    info = client.get("/info").json()
    assert info["object"] == "server.info" and info["mode"] == "local" and info["auth_required"] is False
    assert info["version"] and info["uptime_seconds"] >= 0
    assert info["max_upload_size_bytes"] == 25 * 1024 * 1024 and info["max_audio_seconds"] == 14400
    assert "diarized_json" in info["response_formats"] and "srt" in info["response_formats"]
    assert info["stages"]["transcription"] == {"backend": "whisperx", "default_model": "base"}
    assert info["queue"] == {
        "running": 0,
        "waiting": 0,
        "max_concurrent_transcriptions": 8,
        "max_queued_requests": 16,
        "uploads_receiving": 0,
        "max_concurrent_uploads": 32,
    }
    assert info["jobs"] == {
        "unfinished": 0,
        "max_unfinished": 1000,
        "max_unfinished_per_key": 100,
        "live_workers": None,
    }


@pin(API_KEY="sk-1", MAX_CONCURRENT_TRANSCRIPTIONS="2", MAX_UPLOAD_SIZE_BYTES="1000")
def test_info_is_open_and_says_a_key_is_needed(container):
    with TestClient(create_app(container)) as client:
        info = client.get("/info")
        assert info.status_code == 200 and info.json()["auth_required"] is True
        assert (
            info.json()["max_upload_size_bytes"] == 1000 and info.json()["queue"]["max_concurrent_transcriptions"] == 2
        )
        assert client.get("/models/catalog").status_code == 401  # the catalog needs a key like /models/list


def test_the_catalog_lists_what_a_client_may_ask_for(client, fake_models):
    fake_models["transcription"].loaded_names.add("tiny.en")
    catalog = client.get("/models/catalog").json()
    assert catalog["object"] == "list" and catalog["default"] == "base"
    assert catalog["data"] == [
        {"id": "base", "default": True, "loaded": False, "downloaded": True},
        {"id": "tiny.en", "default": False, "loaded": True, "downloaded": True},
    ]


@pin(MODELS__ALLOWED="tiny.en")
def test_the_catalog_honours_the_allow_list(client):
    assert [m["id"] for m in client.get("/models/catalog").json()["data"]] == ["base", "tiny.en"]


@pin(MODELS__ALLOWED="small", WHISPER__MODEL="tiny.en")
def test_the_catalog_leaves_out_names_the_allow_list_refuses(client):
    # base is bundled but neither allowed nor the default: a client may not ask for it.
    assert [m["id"] for m in client.get("/models/catalog").json()["data"]] == ["tiny.en"]
