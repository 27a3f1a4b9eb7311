from __future__ import annotations

import json

import openai
import pytest
from litestar.testing import TestClient

from app.config.settings import Settings, SettingsError
from app.entrypoints.http import create_app
from tests.conftest import audio_file, pin

URL = "/v1/audio/transcriptions"


@pytest.fixture
def settings_env(request, tmp_path) -> dict[str, str]:
    """Tests that use `secured` run with keys and an allow-list; the others without."""
    if "secured" not in request.fixturenames:
        return {}
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"team-key": "team", "bot-key": "bot"}))
    return {
        "API_KEY": "main-key",
        "API_KEYS_FILE": str(keys_file),
        "ADMIN_API_KEYS": "admin-key",
        "MODELS__ALLOWED": "tiny.en",
    }


@pytest.fixture
def secured(container):
    with TestClient(create_app(container)) as client:
        yield client


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        (auth("wrong"), 401),
        ({"Authorization": "Basic main-key"}, 401),
        ({"Authorization": "Bearer "}, 401),
        (auth("main-key"), 200),
        (auth("team-key"), 200),
        (auth("bot-key"), 200),
        (auth("admin-key"), 200),
    ],
)
def test_transcription_needs_a_known_key(secured, headers, status):
    response = secured.post(URL, files=audio_file(), headers=headers)
    assert response.status_code == status
    if status == 401:
        error = response.json()["error"]
        assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
        assert "main-key" not in response.text


@pytest.mark.parametrize("path", ["/v1/models", "/models/list", "/align_models/list", "/diarize_models/list"])
def test_every_api_route_is_guarded(secured, path):
    assert secured.get(path).status_code == 401
    assert secured.get(path, headers=auth("team-key")).status_code == 200


def test_health_and_schema_stay_open(secured):
    assert secured.get("/healthcheck").status_code == 200
    assert secured.get("/health").status_code == 200
    assert secured.get("/schema/openapi.json").status_code == 200


def test_model_loading_needs_an_admin_key_and_an_allowed_name(secured):
    assert secured.post("/models/load", data={"model": "tiny.en"}, headers=auth("team-key")).status_code == 403
    assert secured.post("/models/load", data={"model": "tiny.en"}, headers=auth("admin-key")).status_code == 200
    refused = secured.post("/models/load", data={"model": "large-v3"}, headers=auth("admin-key"))
    assert refused.status_code == 403 and "allowed models: tiny.en" in refused.json()["error"]["message"]
    assert secured.post("/models/unload", data={"model": "tiny.en"}, headers=auth("team-key")).status_code == 403


def test_transcription_with_a_model_outside_the_allow_list_is_403(secured):
    assert (
        secured.post(URL, files=audio_file(), data={"model": "large-v3"}, headers=auth("team-key")).status_code == 403
    )
    assert (
        secured.post(URL, files=audio_file(), data={"model": "whisper-1"}, headers=auth("team-key")).status_code == 200
    )


def test_the_openai_client_gets_authentication_errors(secured):
    client = openai.OpenAI(api_key="wrong", base_url=f"{secured.base_url}/v1", http_client=secured, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.audio.transcriptions.create(model="whisper-1", file=audio_file()["file"])
    good = openai.OpenAI(api_key="team-key", base_url=f"{secured.base_url}/v1", http_client=secured, max_retries=0)
    assert good.audio.transcriptions.create(model="whisper-1", file=audio_file()["file"]).text


@pin(AUTH_REQUIRED="true", API_KEY="", API_KEYS_FILE="", ADMIN_API_KEYS="")
def test_auth_required_without_keys_refuses_to_start(container):
    with pytest.raises(SettingsError, match="AUTH_REQUIRED"):
        create_app(container)


def test_a_broken_keys_file_refuses_to_start(tmp_path, settings):
    from app.container import build_container

    (tmp_path / "broken-keys.json").write_text("[1, 2]")
    container = build_container(
        Settings.from_env({"DATA_DIR": settings.data_dir, "API_KEYS_FILE": str(tmp_path / "broken-keys.json")})
    )
    with pytest.raises(SettingsError, match="API_KEYS_FILE"):
        create_app(container)


def test_without_keys_the_server_is_open(client):
    assert client.post(URL, files=audio_file()).status_code == 200


@pin(API_KEY="client-key")
def test_with_keys_but_no_admin_key_nobody_manages_models(container):
    with TestClient(create_app(container)) as client:
        for path, field, name in [
            ("/models/load", "model", "tiny.en"),
            ("/diarize_models/unload", "model", "x"),
            ("/align_models/load", "language", "en"),
        ]:
            refused = client.post(path, data={field: name}, headers=auth("client-key"))
            assert refused.status_code == 403 and "ADMIN_API_KEYS" in refused.json()["error"]["message"]
        assert client.get("/models/list", headers=auth("client-key")).status_code == 200  # listing stays open
