from __future__ import annotations

import pytest
from litestar.testing import TestClient

from app.api.forms import MAX_FIELD_BYTES, MAX_FORM_FIELDS
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


@pytest.mark.parametrize(
    ("field", "cap"),
    [
        ("model", 256),
        ("prompt", 4096),
        ("response_format", 32),
        ("language", 16),
        ("hotwords", 1024),
        ("callback_url", 2048),
    ],
)
def test_every_text_field_has_a_cap(client, field, cap):
    extra = {"async": "true"} if field == "callback_url" else {}
    over = client.post(URL, files=audio_file(), data={field: "a" * (cap + 1), **extra})
    assert over.status_code == 400, over.text
    error = over.json()["error"]
    assert error["param"] == field and f"length <= {cap}" in error["message"]


def test_a_text_field_past_its_byte_limit_is_refused_naming_it_while_it_streams_in(client):
    """24 MB of `chunking_strategy` is refused at its first 64 KiB: nothing parses it whole."""
    response = client.post(URL, files=audio_file(), data={"chunking_strategy": "{" + " " * (24 * 1024 * 1024) + "}"})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["param"] == "chunking_strategy" and f"larger than {MAX_FIELD_BYTES} bytes" in error["message"]
    assert client.post(URL, files=audio_file(), data={"chunking_strategy": "auto"}).status_code == 200


def test_a_known_speaker_reference_may_be_a_few_megabytes_and_no_more(client):
    big = "data:audio/wav;base64," + "A" * (3 * 1024 * 1024)
    within = client.post(
        URL, files=audio_file(), data={"known_speaker_names[]": "ann", "known_speaker_references[]": big}
    )
    assert within.status_code != 413  # read whole, then refused or used as audio
    over = client.post(
        URL,
        files=audio_file(),
        data={"known_speaker_names[]": "ann", "known_speaker_references[]": big + "A" * (1024 * 1024 + 1)},
    )
    assert over.status_code == 413 and over.json()["error"]["param"] == "known_speaker_references[]"


@pytest.mark.parametrize("name", ["keywords[]", ""])
def test_too_many_form_fields_are_refused_at_the_first_one_too_many_naming_it(client, name):
    response = client.post(URL, files=audio_file(), data={name: ["kw"] * 2000})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == name and f"at most {MAX_FORM_FIELDS}" in error["message"]


def test_100_000_empty_fields_beside_a_file_are_refused_and_the_server_keeps_serving(client):
    files = [("file", ("speech.wav", b"2.0", "audio/wav")), *((f"f{i}", (None, b"")) for i in range(100_000))]
    response = client.post(URL, files=files)
    assert response.status_code == 400 and response.json()["error"]["param"] == f"f{MAX_FORM_FIELDS - 1}"
    assert client.post(URL, files=audio_file()).status_code == 200


def test_one_file_only_and_only_as_file(client):
    second = client.post(
        URL, files=[("file", ("a.wav", b"2.0", "audio/wav")), ("extra", ("b.wav", b"2.0", "audio/wav"))]
    )
    assert second.status_code == 400 and second.json()["error"]["param"] == "extra"
    as_text = client.post(URL, data={"file": "2.0"})
    assert as_text.status_code == 400 and as_text.json()["error"]["param"] == "file"


def test_a_url_encoded_form_is_read_with_the_same_bounds(client):
    fields = client.post("/models/load", data={"model": "base"})  # curl -d model=base
    assert fields.status_code == 200, fields.text
    over = client.post(
        "/models/load",
        content=b"model=" + b"a" * (MAX_FIELD_BYTES + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert over.status_code == 413 and over.json()["error"]["param"] == "model"
    many = client.post(
        "/models/load",
        content=b"&".join([b"x=1"] * (MAX_FORM_FIELDS + 1)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert many.status_code == 400 and many.json()["error"]["param"] == "x"
