from __future__ import annotations

import pytest
from litestar.testing import TestClient

from app.entrypoints.http import FORM_OVERHEAD_BYTES, create_app
from tests.conftest import audio_file, pin

URL = "/v1/audio/transcriptions"


@pin(MAX_UPLOAD_SIZE_BYTES=str(1024 * 1024))
def test_an_upload_over_the_limit_is_413(container):
    with TestClient(create_app(container)) as client:
        too_big = b"0" * (1024 * 1024 + FORM_OVERHEAD_BYTES + 1)
        response = client.post(URL, files={"file": ("big.wav", too_big, "audio/wav")})
        assert response.status_code == 413
        error = response.json()["error"]
        assert "MAX_UPLOAD_SIZE_BYTES" in error["message"] and error["type"] == "invalid_request_error"
        assert client.post(URL, files=audio_file()).status_code == 200  # and it keeps serving


@pin(MAX_UPLOAD_SIZE_BYTES="1000")
def test_the_file_itself_gets_the_exact_limit(container):
    with TestClient(create_app(container)) as client:
        response = client.post(URL, files={"file": ("big.wav", b"2" + b" " * 1000, "audio/wav")})  # 1001 bytes
        assert response.status_code == 413 and "MAX_UPLOAD_SIZE_BYTES" in response.json()["error"]["message"]
        assert client.post(URL, files={"file": ("ok.wav", b"2" + b" " * 999, "audio/wav")}).status_code == 200


@pytest.mark.parametrize("payload", [b"", b"just some text", b"\x89PNG\r\n\x1a\n" + bytes(200), bytes(range(256)) * 64])
def test_bad_input_corpus_is_400_and_the_server_keeps_serving(client, payload):
    response = client.post(URL, files={"file": ("upload", payload, "application/octet-stream")})
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code", "request_id"}
    assert client.post(URL, files=audio_file()).status_code == 200


@pytest.mark.parametrize(("field", "cap"), [
    ("model", 256), ("prompt", 4096), ("response_format", 32), ("language", 16), ("hotwords", 1024),
    ("callback_url", 2048),
])
def test_every_text_field_has_a_cap(client, field, cap):
    extra = {"async": "true"} if field == "callback_url" else {}
    over = client.post(URL, files=audio_file(), data={field: "a" * (cap + 1), **extra})
    assert over.status_code == 400, over.text
    error = over.json()["error"]
    assert error["param"] == field and f"length <= {cap}" in error["message"]
